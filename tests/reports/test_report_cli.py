"""``helpdesk report`` and ``helpdesk whatif`` on a SQLite desk (issue 24): the complaint
question answered from the command line, reports as table, CSV, JSON and SVG chart."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpdesk_core import Actor, Helpdesk, reports
from helpdesk_core.conditions import TRUE
from helpdesk_core.testing import FixedClock
from helpdesk_plugins.cli import main

T0 = datetime.fromisoformat("2026-11-02T09:00:00+08:00")
AGENT = Actor(id="a-1", roles={"agent"}, team="after-sales", department="service")

BEFORE = """
[desk]
timezone = "Asia/Shanghai"
default_team = "after-sales"

[storage]
encryption = "off"

[[sla.policies]]
name = "complaints"
when = { type = "complaint" }
targets = { "*" = { first_response = "FR" } }
"""


@pytest.fixture
def desk_files(tmp_path: Path) -> tuple[str, Path, Path]:
    before = tmp_path / "desk.toml"
    before.write_text(BEFORE.replace("FR", "5m"), encoding="utf-8")
    after = tmp_path / "new.toml"
    after.write_text(BEFORE.replace("FR", "10m"), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    clock = FixedClock(T0)
    with Helpdesk(config=str(before), storage_url=url, clock=clock) as desk:
        for n, delay in enumerate([3, 7, 12]):
            clock.set(T0 + timedelta(minutes=20 * n))
            ticket = desk.open_ticket(
                Actor(id=f"C{n}", roles={"customer"}), subject="Broken", channel="email",
                type="complaint",
            )  # fmt: skip
            desk.assign(AGENT, ticket.id, AGENT.id)
            clock.advance(timedelta(minutes=delay))
            desk.reply(AGENT, ticket.id, "Sorry.")
    return url, before, after


def test_whatif_answers_the_complaint_question(
    desk_files: tuple[str, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    url, before, after = desk_files
    code = main(
        ["whatif", "--url", url, "--config", str(before), "--against", str(after),
         "--period", "2026-11"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("3 tickets created")
    line = next(x for x in out.splitlines() if x.startswith("first_response"))
    assert line.split()[-3:] == ["2", "1", "-1"]


def test_report_formats_and_chart(
    desk_files: tuple[str, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, before, _ = desk_files
    chart = tmp_path / "volumes.svg"
    args = ["report", "volumes", "--url", url, "--config", str(before), "--period", "2026-11-02"]
    assert main([*args, "--group-by", "type", "--chart", str(chart)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[0] == "type" and table[1].split()[:2] == ["complaint", "3"]
    assert chart.read_text(encoding="utf-8").lstrip().startswith("<")
    assert main([*args, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"][0]["tickets"] == 3
    assert main([*args, "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("3")


def test_bad_period_and_unknown_report_are_usage_errors(
    desk_files: tuple[str, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _, _ = desk_files
    assert main(["report", "volumes", "--url", url, "--period", "Nov"]) == 2
    assert "--period 'Nov'" in capsys.readouterr().err
    assert main(["report", "nosuch", "--url", url, "--period", "2026-11"]) == 2
    assert "unknown report 'nosuch'" in capsys.readouterr().err
    # a customer may not read reports: a library error, exit code 2
    assert (
        main(["report", "volumes", "--url", url, "--period", "2026-11", "--role", "customer"]) == 2
    )


def test_db_reindex_backfills_the_report_facts(
    desk_files: tuple[str, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A store from before the report facts (their rows gone, as after the 0009 migration)
    gets every ticket's facts back from ``helpdesk db reindex --config``, under the desk's SLA
    configuration; the reports read the same figures before and after."""
    url, before, _ = desk_files
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM hd_report_facts"))
    engine.dispose()
    admin = Actor(id="root", roles={"admin"})
    day = T0.date()
    with Helpdesk(config=str(before), storage_url=url) as desk:
        with desk.storage.transaction() as uow:
            rows = list(uow.report_facts(TRUE, created_before=T0 + timedelta(days=1)))
        assert len(rows) == 3 and all(r.doc is None for r in rows)
        folded = desk.report(admin, "sla_compliance", start=day, end=day)
    assert main(["db", "reindex", "--url", url, "--config", str(before)]) == 0
    assert "report facts rebuilt for 3 tickets" in capsys.readouterr().out
    with Helpdesk(config=str(before), storage_url=url) as desk:
        with desk.storage.transaction() as uow:
            rows = list(uow.report_facts(TRUE, created_before=T0 + timedelta(days=1)))
            assert all(r.doc is not None and r.doc[1] == reports.sla_fingerprint(desk.sla)
                       for r in rows)  # fmt: skip
        assert desk.report(admin, "sla_compliance", start=day, end=day) == folded
    assert [(r["met"], r["breached"]) for r in folded.rows] == [(1, 2)]


def test_whatif_shows_progress_on_a_terminal_only(desk_files: tuple[str, Path, Path]) -> None:
    """Progress on long work goes to a terminal's stderr (a rich display), never into a pipe:
    scripts read the same stdout either way."""
    import os
    import pty
    import subprocess
    import sys

    url, before, after = desk_files
    args = [sys.executable, "-m", "helpdesk_plugins.cli", "whatif", "--url", url,
            "--config", str(before), "--against", str(after), "--period", "2026-11"]  # fmt: skip
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    piped = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    assert piped.stderr == "" and piped.stdout.startswith("3 tickets created")
    leader, follower = pty.openpty()
    try:
        shown = subprocess.run(
            args, stdout=subprocess.PIPE, stderr=follower, text=True, env=env, check=True
        )
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    assert shown.stdout == piped.stdout
    assert b"replayed" in seen and b"tickets" in seen
