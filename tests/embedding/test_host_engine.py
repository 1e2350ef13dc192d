"""``Helpdesk(storage_url=engine)``: a desk on the host application's own SQLAlchemy engine
(issue 25, "Embedding"; R-DATA)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from embedding_hosts import CONFIG, ticket_numbers

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.errors import PluginError, StorageError, ValidationError

sa = pytest.importorskip("sqlalchemy")

MakeDesk = Callable[..., Helpdesk]


def test_a_desk_on_the_host_engine_migrates_and_runs_commands(
    engine: Any, make_desk: MakeDesk, agent: Actor
) -> None:
    """The packaged migrations run on the host's engine as for a URL; commands are stored in
    the host's database, next to the host's own tables."""
    from helpdesk_plugins.storage_sql.migrate import current, head

    desk = make_desk()
    ticket = desk.open_ticket(agent, subject="Broken parcel", channel="email", customer_id="C1")
    desk.reply(agent, ticket.id, "A replacement is on its way.")
    with engine.connect() as conn:
        assert current(conn) == head()
    assert ticket_numbers(engine) == [ticket.number]
    assert [hit.ticket.id for hit in desk.search(agent, "replacement")] == [ticket.id]
    assert sa.inspect(engine).has_table("app_notes")
    assert desk.storage.url == engine.url.render_as_string(hide_password=True)


def test_the_storage_settings_apply_to_a_host_engine(engine: Any, make_desk: MakeDesk) -> None:
    """``[storage] migrate = false`` on a database without the schema refuses to open, exactly
    as for a URL (same settings, same rules)."""
    with pytest.raises(StorageError, match="helpdesk db upgrade"):
        make_desk(config={**CONFIG, "storage": {"encryption": "off", "migrate": False}})


def test_closing_the_desk_leaves_the_host_engine_to_the_host(
    engine: Any, make_desk: MakeDesk, agent: Actor
) -> None:
    """desk.close() returns the store's connections to the host's pool and never disposes it:
    the host's open connection and its pool stay as they were."""
    desk = make_desk()
    desk.open_ticket(agent, subject="Broken parcel", channel="email", customer_id="C1")
    pool = engine.pool
    with engine.connect() as host_conn:
        desk.close()
        assert engine.pool is pool  # dispose() would have replaced it
        assert pool.checkedout() == 1  # the host's connection, and none of the desk's
        assert host_conn.exec_driver_sql("SELECT count(*) FROM app_notes").scalar_one() == 0


def test_a_url_desk_and_an_engine_desk_share_one_database(
    engine: Any, make_desk: MakeDesk, agent: Actor
) -> None:
    """The engine is a way to reach the database, nothing more: a desk opened by URL on the
    same database sees the same tickets."""
    desk = make_desk()
    ticket = desk.open_ticket(agent, subject="Broken parcel", channel="email", customer_id="C1")
    url = engine.url.render_as_string(hide_password=False)
    with Helpdesk(config=CONFIG, storage_url=url, load_entrypoints=False) as by_url:
        assert by_url.get_ticket(agent, ticket.id) == ticket


@pytest.mark.parametrize("given", [42, b"sqlite:///x.db", object()], ids=repr)
def test_a_storage_url_of_the_wrong_type_names_what_was_given(given: object) -> None:
    """Neither a URL nor an engine: ValidationError('storage_url') naming the type given (not a
    raw AttributeError from a plugin)."""
    with pytest.raises(ValidationError) as err:
        Helpdesk(storage_url=given, load_entrypoints=False)
    kind = type(given)
    assert err.value.field == "storage_url"
    assert f"{kind.__module__}.{kind.__qualname__}" in str(err.value)


def test_an_engine_on_another_database_is_refused() -> None:
    """An engine on a database the SQL store does not run on is a ValidationError naming
    ``storage_url`` and the database."""
    # an engine of another dialect needs no driver until it connects: a stand-in module
    driver = SimpleNamespace(paramstyle="pyformat")
    engine = sa.create_engine("mysql+pymysql://u@localhost/app", module=driver)
    with pytest.raises(ValidationError) as err:
        Helpdesk(storage_url=engine, load_entrypoints=False)
    assert err.value.field == "storage_url" and "'mysql'" in str(err.value)


def test_an_unknown_url_scheme_is_still_a_plugin_error(tmp_path: Path) -> None:
    """A string no plugin serves keeps its old error (the URL is a URL, just not served)."""
    with pytest.raises(PluginError, match="no storage plugin serves"):
        Helpdesk(storage_url="mongodb://localhost/desk", load_entrypoints=False)
