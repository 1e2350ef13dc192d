"""Shared fixtures. PostgreSQL tests skip without HELPDESK_TEST_POSTGRES_URL, but when
HELPDESK_REQUIRE_POSTGRES is set (CI) such a skip becomes a failure."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

from helpdesk_core import Actor, Helpdesk, hookimpl
from helpdesk_core.testing import FixedClock, RecordingNotifier
from helpdesk_core.testing.postgres import (
    POSTGRES_SKIP_REASON,
    REQUIRE_POSTGRES_ENV,
    postgres_url,
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if (
        report.skipped
        and POSTGRES_SKIP_REASON in str(report.longrepr)
        and item.get_closest_marker("postgres") is None
    ):
        report.outcome = "failed"
        report.longrepr = (
            "this test needs PostgreSQL but lacks the 'postgres' marker (every PostgreSQL test "
            "carries it, so `pytest -m postgres` selects them all): " + str(report.longrepr)
        )
    elif (
        report.skipped
        and os.environ.get(REQUIRE_POSTGRES_ENV)
        and POSTGRES_SKIP_REASON in str(report.longrepr)
    ):
        report.outcome = "failed"
        report.longrepr = (
            "HELPDESK_REQUIRE_POSTGRES is set but this test was skipped for lack of PostgreSQL: "
            + str(report.longrepr)
        )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock("2026-11-02T09:00:00+08:00")


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


class _NotifierPlugin:
    def __init__(self, notifier: RecordingNotifier) -> None:
        self.notifier = notifier

    @hookimpl
    def helpdesk_register_notifiers(self, config: object) -> list[RecordingNotifier]:
        return [self.notifier]


@pytest.fixture
def desk(clock: FixedClock, notifier: RecordingNotifier) -> Iterator[Helpdesk]:
    with Helpdesk(
        config={"desk": {"default_team": "after-sales"}},
        clock=clock,
        plugins=[_NotifierPlugin(notifier)],
        load_entrypoints=False,
    ) as d:
        yield d


@pytest.fixture
def agent() -> Actor:
    return Actor(id="a-17", roles={"agent"}, team="after-sales", department="service")


@pytest.fixture
def supervisor() -> Actor:
    return Actor(id="s-1", roles={"supervisor"}, team="after-sales", department="service")


@pytest.fixture
def customer() -> Actor:
    return Actor(id="C20261102001", roles={"customer"}, organisation="acme")


DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture
def docs_script() -> Callable[[str], ModuleType]:
    """Load one of the generator scripts in docs/ (render_hooks.py...) as a module."""

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(name, DOCS / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@contextmanager
def _store(kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh store of ``kind``: memory, a SQLite file, or a PostgreSQL scratch schema."""
    if kind == "memory":
        yield "memory://"
        return
    pytest.importorskip("sqlalchemy")
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'desk.db'}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    from helpdesk_plugins.storage_sql.scratch import scratch_schema

    with scratch_schema(base, "hd_store") as url:
        yield url


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty store, once per kind: memory, SQLite and PostgreSQL."""
    with _store(request.param, tmp_path) as url:
        yield url
