"""The ``helpdesk`` command line (issue 25, CLI): plain --help with every option explained and
the environment listed, quiet by default, ``config check`` reporting every error with its key
path, ``sla explain`` as an acting user, and the published exit codes (R-OPS-3, R-SLA-3)."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.config import check_config, load_config
from helpdesk_core.errors import ConfigError
from helpdesk_core.testing import FixedClock
from helpdesk_plugins.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, build_parser, main

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime.fromisoformat("2026-11-02T09:00:00+08:00")

VALID = """
[desk]
timezone = "Asia/Shanghai"

[calendars.support]
tz = "Asia/Shanghai"
week = { "mon-fri" = ["09:00-18:00"] }

[[sla.policies]]
name = "complaints"
when = { type = "complaint" }
calendar = "support"
targets = { "*" = { first_response = "30m" } }
"""

# four independent mistakes in four top-level keys, and one unknown section
BROKEN = """
priorities = ["urgent", "urgent"]
sla_typo = 1

[desk]
timezone = "Mars/Olympus"

[calendars.support]
tz = "Asia/Shanghai"
week = { "mon-fri" = ["09:00-18:00"] }
colour = "red"

[routing]
rules = [{ team = "a", strategy = "fastest" }]
"""
BROKEN_PATHS = [
    "priorities",
    "sla_typo",
    "desk.timezone",
    "calendars.support.colour",
    "routing.rules[0].strategy",
]


def every_parser() -> list[tuple[str, argparse.ArgumentParser]]:
    found = []

    def walk(name: str, parser: argparse.ArgumentParser) -> None:
        found.append((name, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(f"{name} {sub_name}", sub)

    walk("helpdesk", build_parser())
    return found


PARSERS = every_parser()


@pytest.mark.parametrize(("name", "parser"), PARSERS, ids=[name for name, _ in PARSERS])
def test_help_is_plain_text_and_explains_every_option(
    name: str, parser: argparse.ArgumentParser
) -> None:
    text = parser.format_help()
    for markup in ("``", ":class:", ":func:", ":meth:", ":data:"):
        assert markup not in text, f"{name} --help shows reST markup {markup!r}"
    assert not re.search(r"^\s*\.\. [a-z-]+::", text, re.MULTILINE), f"{name}: a reST directive"
    for variable in ("HELPDESK_DATABASE_URL", "HELPDESK_CONFIG", "HELPDESK_FIELD_KEY"):
        assert variable in text, f"{name} --help does not list {variable}"
    assert "exit codes" in text
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        label = action.option_strings[0] if action.option_strings else action.dest
        assert action.help, f"{name} {label} has no help text"
        if action.option_strings and action.default not in (None, False):
            assert "default" in action.help, f"{name} {label}: say its default"


def test_time_options_name_their_unit() -> None:
    worker = dict(PARSERS)["helpdesk worker"]
    helps = {a.dest: a.help or "" for a in worker._actions}
    assert "seconds" in helps["interval"] and "seconds" in helps["lease"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "helpdesk_plugins.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_db_upgrade_is_quiet_by_default(tmp_path: Path) -> None:
    """No Alembic INFO lines: one line on stdout, nothing on stderr; --log-level INFO shows
    them (so the check would see them)."""
    quiet = run_cli("db", "upgrade", "--url", f"sqlite:///{tmp_path / 'a.db'}")
    assert quiet.returncode == EXIT_OK, quiet.stderr
    assert quiet.stderr == ""
    assert quiet.stdout.strip().endswith("migrated to head")
    assert len(quiet.stdout.splitlines()) == 1
    loud = run_cli(
        "--log-level", "info", "db", "upgrade", "--url", f"sqlite:///{tmp_path / 'b.db'}"
    )
    assert loud.returncode == EXIT_OK
    assert "alembic" in loud.stderr


def test_config_check_prints_every_error_with_its_key_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(BROKEN, encoding="utf-8")
    assert main(["config", "check", str(broken)]) == EXIT_PROBLEMS
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[1] for line in lines[:-1]] == BROKEN_PATHS
    assert lines[-1] == f"{broken}: 5 problem(s)"


def test_config_check_accepts_a_valid_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    valid = tmp_path / "desk.toml"
    valid.write_text(VALID, encoding="utf-8")
    assert main(["config", "check", str(valid)]) == EXIT_OK
    assert capsys.readouterr().out == f"{valid}: ok\n"


def test_config_check_exit_codes_for_bad_toml_and_missing_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[desk\n", encoding="utf-8")
    assert main(["config", "check", str(bad)]) == EXIT_PROBLEMS
    assert "is not valid TOML" in capsys.readouterr().out
    assert main(["config", "check", str(tmp_path / "missing.toml")]) == EXIT_USAGE
    assert "no such file" in capsys.readouterr().err


def test_check_config_agrees_with_load_config_one_mistake_at_a_time() -> None:
    """Each mistake alone: load_config's error is exactly the one check_config reports; all
    together: check_config reports each of them, where load_config stops at the first."""
    mistakes = [
        {"channels": ["email", "email"]},
        {"routing": {"rules": [{"team": "a", "strategy": "fastest"}]}},
        {"escalation": {"policies": [{"name": "e", "levels": [], "extra": 1}]}},
        {"sla": {"policies": [{"name": "p", "targets": {"*": {"resolution": "-1h"}}}]}},
        {"duplicates": {"enabled": "yes"}},
    ]
    together: dict[str, object] = {}
    expected = []
    for raw in mistakes:
        with pytest.raises(ConfigError) as caught:
            load_config(raw)
        assert [str(e) for e in check_config(raw)] == [str(caught.value)]
        expected.append(str(caught.value))
        together.update(raw)
    assert [str(e) for e in check_config(together)] == expected
    assert check_config(VALID) == []
    # sections that read a broken one (sla and escalation read the calendars) report that
    # error once, not again: one error per broken key
    calendars = {"calendars": {"c": {"tz": "UTC", "week": {"mon": ["9:00-17:00"]}, "x": 1}}}
    assert sorted(e.path for e in check_config({**together, **calendars})) == [
        "calendars.c.x",
        "channels",
        "duplicates.enabled",
        "routing.rules[0].strategy",
    ]


def test_sla_explain_prints_the_desks_explanation_as_the_acting_user(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "desk.toml"
    config.write_text(VALID + '\n[storage]\nencryption = "off"\n', encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    with Helpdesk(config=str(config), storage_url=url, clock=FixedClock(T0)) as desk:
        ticket = desk.open_ticket(
            Actor(id="C1", roles={"customer"}), subject="Broken", channel="email", type="complaint"
        )
    args = ["sla", "explain", ticket.id, "--url", url, "--config", str(config)]
    assert main(args) == EXIT_OK
    out = capsys.readouterr().out
    assert "complaints" in out and "first_response" in out
    assert main([*args, "--lang", "zh-CN"]) == EXIT_OK
    assert "complaints" in capsys.readouterr().out
    by_number = ["sla", "explain", ticket.number, "--url", url, "--config", str(config)]
    assert main(by_number) == EXIT_OK
    assert capsys.readouterr().out.splitlines()[0] == out.splitlines()[0]
    # another customer is refused exactly as for a ticket that does not exist
    assert main([*args, "--as", "C2", "--role", "customer"]) == EXIT_USAGE
    hidden = capsys.readouterr().err
    other = ticket.id[:-3] + "zzz"
    assert main(["sla", "explain", other, "--url", url, "--config", str(config)]) == EXIT_USAGE
    missing = capsys.readouterr().err
    assert hidden == f"helpdesk: ticket {ticket.id!r} not found\n"
    assert missing == hidden.replace(ticket.id, other)
