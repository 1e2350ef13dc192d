"""The README's embedding example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_example_runs(capsys: object) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "README has no python example"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {"__name__": "readme"})


def test_readme_has_exactly_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    commands = re.findall(r"```sh\n(.*?)```", text, re.S)
    assert len(commands) == 2
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].strip() in ci, ".ci/run must run the README's test command"


def test_readme_first_command_installs_and_serves_the_demo() -> None:
    """Issue 25: the first command is one line that installs the library and the reference
    server and runs `helpdesk demo`; the text says where to open it."""
    text = README.read_text(encoding="utf-8")
    first = re.findall(r"```sh\n(.*?)```", text, re.S)[0].strip()
    assert "\n" not in first
    assert "-e examples/helpdesk_server" in first and first.endswith("helpdesk demo")
    assert "http://127.0.0.1:8000/" in text
    server = README.parent / "examples" / "helpdesk_server" / "pyproject.toml"
    assert 'server = "helpdesk_server.cli:register"' in server.read_text(encoding="utf-8")
