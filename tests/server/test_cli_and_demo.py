"""`helpdesk serve` and `helpdesk demo` come from the server package through the `helpdesk.cli`
entry-point group; the demo configuration loads in `worker` too; the seeded demo desk has
tickets in every state, some breached, and KB articles in every state (issue 25)."""

from __future__ import annotations

import pytest

pytest.importorskip("helpdesk_server", reason="pip install -e examples/helpdesk_server")

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from helpdesk_server.wiring import DEMO_CONFIG, open_desk

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.errors import ConfigError
from helpdesk_plugins import cli

ADMIN = Actor(id="t-admin", roles={"admin"})


def test_help_lists_the_extension_commands_and_keeps_the_built_in_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("db", "worker", "serve", "demo"):
        assert command in out
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    serve_help = capsys.readouterr().out
    assert (
        "--config" in serve_help
        and "--port" in serve_help
        and "HELPDESK_DATABASE_URL" in serve_help
    )


def test_db_keygen_still_works(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["db", "keygen"]) == 0
    assert capsys.readouterr().out.strip()


def test_the_demo_config_loads_in_a_plain_desk_with_entry_points(tmp_path: Path) -> None:
    """`helpdesk worker --config demo.toml` builds exactly this desk (entry points on): the
    [server] section is registered by the server's `helpdesk` entry-point plugin."""
    with Helpdesk(config=str(DEMO_CONFIG), load_entrypoints=True) as desk:
        users = desk.config.sections["server"].users
    roles = {role for user in users for role in user.roles}
    assert {"customer", "agent", "supervisor", "manager", "admin"} <= roles


def test_helpdesk_worker_runs_on_the_demo_config(tmp_path: Path) -> None:
    """The worker command itself, one tick, with the demo TOML ([server] and [alarms] in it)."""
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    args = ["worker", "--config", str(DEMO_CONFIG), "--url", url, "--max-ticks", "1"]
    assert cli.main(args) == 0


@pytest.mark.parametrize(
    ("section", "path"),
    [
        ({"users": [{"id": "a", "roles": ["agent"]}]}, "server.users[0].token"),
        ({"users": [{"id": "a", "token": "t", "roles": []}]}, "server.users[0].roles"),
        (
            {"users": [{"id": "a", "token": "t", "roles": ["x"], "colour": 1}]},
            "server.users[0].colour",
        ),
        (
            {
                "users": [
                    {"id": "a", "token": "t", "roles": ["x"]},
                    {"id": "b", "token": "t", "roles": ["x"]},
                ]
            },
            "server.users[1].token",
        ),
        ({"demo": {"peak_per_hour": 0}}, "server.demo.peak_per_hour"),
    ],
)
def test_server_section_errors_name_their_key_path(section: dict[str, Any], path: str) -> None:
    from helpdesk_server.plugin import ServerSection

    with pytest.raises(ConfigError) as info:
        Helpdesk(config={"server": section}, plugins=[ServerSection()], load_entrypoints=False)
    assert info.value.path == path


def test_seeded_demo_has_every_state_some_breached_and_kb_articles(
    seeded_file: Path, server_config: str
) -> None:
    desk = open_desk(server_config, f"sqlite:///{seeded_file}")
    try:
        tickets = desk.tickets(ADMIN, limit=None)
        statuses = Counter(t.status for t in tickets)
        now = datetime.now(UTC)
        states = Counter(c.state for t in tickets for c in desk.sla_status(ADMIN, t.id, now))
        articles = Counter(a.state for a in desk.articles(ADMIN))
        customers = desk.customers(ADMIN)
    finally:
        desk.close()
    assert len(tickets) > 50
    assert {"new", "assigned", "in_progress", "pending_customer", "resolved", "closed"} <= set(
        statuses
    )
    assert (
        states["breached"] > 0 and states["met"] > 0 and states["running"] + states["warning"] > 0
    )
    assert {"published", "draft", "in_review"} <= set(articles)
    assert [c.id for c in customers][:2] == ["C00001", "C00002"]


def test_helpdesk_demo_seeds_once_then_serves(tmp_path: Path, server_config: str) -> None:
    """The real command in a subprocess: seeds an empty database, prints where to open it,
    serves the UI and exits 0 on SIGTERM; run again on the same database, it does not seed
    twice."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    for attempt in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-m", "helpdesk_plugins.cli", "demo", "--config", server_config,
             "--url", url, "--port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        try:
            assert process.stdout is not None
            lines = []
            for line in process.stdout:
                lines.append(line)
                if line.startswith("helpdesk: serving "):
                    break
            text = "".join(lines)
            assert ("seeding demo data" in text) == (attempt == 0), text
            assert f"open http://127.0.0.1:{port}/" in text
            assert "alembic" not in text  # quiet by default
            for _ in range(200):
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/openapi.json"
                    ) as response:
                        assert response.status == 200
                        break
                except OSError:
                    time.sleep(0.05)
            else:
                pytest.fail("the demo server did not answer")
            process.terminate()  # SIGTERM: a graceful stop, exit code 0 (as for the worker)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=20)
