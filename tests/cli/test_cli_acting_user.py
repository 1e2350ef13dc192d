"""``--as ACTOR_ID --role ROLE`` on every ``helpdesk`` command that acts for someone (issue 25,
CLI): the default is a system administrator named ``cli``; a role the desk's permission matrix
refuses gets the library's refusal (exit 2); a role the desk does not know is a usage error
(exit 2) naming the known roles; the audit log records the ``--as`` name."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.model.records import OutboxMessage
from helpdesk_core.testing import FixedClock
from helpdesk_plugins.cli import EXIT_OK, EXIT_USAGE, build_parser, main

T0 = datetime.fromisoformat("2026-11-02T09:00:00+08:00")
ADMIN = Actor(id="root", roles={"admin"})
AGENT = Actor(id="a-1", roles={"agent"}, team="after-sales", department="service")

CONFIG = """
[desk]
timezone = "Asia/Shanghai"
default_team = "after-sales"

[storage]
encryption = "off"

[permissions]
roles = ["night_shift"]
"""

ACTING_COMMANDS = (
    ["sla", "explain", "T1"],
    ["report", "volumes", "--period", "2026-11"],
    ["whatif", "--against", "new.toml", "--period", "2026-11"],
    ["dead-letters", "list"],
)


@pytest.fixture
def desk_files(tmp_path: Path) -> tuple[str, Path, str]:
    """A desk with one answered ticket and one dead outbox message; (url, config, dead id)."""
    config = tmp_path / "desk.toml"
    config.write_text(CONFIG, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    with Helpdesk(config=str(config), storage_url=url, clock=FixedClock(T0)) as desk:
        customer = Actor(id="C1", roles={"customer"})
        ticket = desk.open_ticket(customer, subject="Broken", channel="email")
        desk.assign(AGENT, ticket.id, AGENT.id)
        desk.reply(AGENT, ticket.id, "Sorry.")
        with desk.storage.transaction() as uow:  # a notice whose every attempt failed
            uow.add_outbox(
                OutboxMessage(
                    id="dead-1", topic="event", key="event:x:1", payload={},
                    created_at=T0, available_at=T0,
                )
            )  # fmt: skip
        with desk.storage.transaction() as uow:
            [claimed] = [
                m for m in uow.claim_outbox(T0, 100, "w", timedelta(minutes=5)) if m.id == "dead-1"
            ]
            uow.finish_outbox(claimed.id, delivered=False, error="SMTP 451", retry_at=None)
    return url, config, ticket.number


def test_every_acting_command_takes_as_and_role_with_help_and_an_administrator_default() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    for argv in ACTING_COMMANDS:
        sub = commands[argv[0]]
        options = {o: a for a in sub._actions for o in a.option_strings}
        assert options["--as"].default == "cli" and "default: cli" in str(options["--as"].help)
        assert options["--role"].default == "admin"
        assert "default: admin" in str(options["--role"].help)
        args = parser.parse_args([*argv, "--url", "sqlite://"])
        assert (args.as_id, args.role) == ("cli", "admin")


def test_the_default_acts_as_an_administrator(
    desk_files: tuple[str, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url, config, _ = desk_files
    store = ["--url", url, "--config", str(config)]
    # dead letters are for administrators only (outbox.manage): the default may list them...
    assert main(["dead-letters", "list", *store]) == EXIT_OK
    assert capsys.readouterr().out.splitlines()[-1] == "1 dead letter(s)"
    # ...and retry one, which the audit log records under the --as name
    assert main(["dead-letters", "retry", "dead-1", *store, "--as", "ops-li"]) == EXIT_OK
    assert "pending again" in capsys.readouterr().out
    with Helpdesk(config=str(config), storage_url=url) as desk:
        [record] = desk.audit_log(ADMIN, target="dead-1")
    assert (record.actor, record.allowed) == ("ops-li", True)
    assert main(["report", "volumes", *store, "--period", "2026-11"]) == EXIT_OK
    assert capsys.readouterr().out.split()[0] == "tickets"


@pytest.mark.parametrize(
    ("argv", "role"),
    [
        (["report", "volumes", "--period", "2026-11"], "customer"),
        (["dead-letters", "list"], "agent"),
        (["dead-letters", "list"], "night_shift"),  # a role the config added, granted nothing
    ],
)
def test_a_role_the_matrix_refuses_is_exit_2_with_the_librarys_reason(
    desk_files: tuple[str, Path, str],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    role: str,
) -> None:
    url, config, _ = desk_files
    command = [*argv, "--url", url, "--config", str(config), "--as", "who-7", "--role", role]
    assert main(command) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("helpdesk: ") and "who-7" in captured.err
    assert "denied" in captured.err or "no rule grants" in captured.err, captured.err


def test_a_customer_sees_only_their_own_tickets_sla(
    desk_files: tuple[str, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url, config, number = desk_files
    explain = ["sla", "explain", number, "--url", url, "--config", str(config)]
    assert main([*explain, "--as", "C1", "--role", "customer"]) == EXIT_OK
    assert capsys.readouterr().out
    assert main([*explain, "--as", "C2", "--role", "customer"]) == EXIT_USAGE
    assert "not found" in capsys.readouterr().err


@pytest.mark.parametrize("argv", ACTING_COMMANDS)
def test_a_role_the_desk_does_not_know_is_a_usage_error(
    desk_files: tuple[str, Path, str], capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    url, config, _ = desk_files
    (config.parent / "new.toml").write_text(CONFIG, encoding="utf-8")
    argv = [a if a != "new.toml" else str(config.parent / "new.toml") for a in argv]
    command = [*argv, "--url", url, "--config", str(config), "--role", "wizard"]
    assert main(command) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("helpdesk: --role 'wizard': this desk has no such role; known: ")
    known = err.split("known: ", 1)[1].strip().split(", ")
    assert {"admin", "agent", "customer", "night_shift"} <= set(known)
    assert "system" not in known


def test_an_empty_as_is_a_usage_error(
    desk_files: tuple[str, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url, config, _ = desk_files
    command = ["dead-letters", "list", "--url", url, "--config", str(config), "--as", " "]
    assert main(command) == EXIT_USAGE
    assert capsys.readouterr().err == (
        "helpdesk: --as: give the acting user's id (a non-empty name)\n"
    )
