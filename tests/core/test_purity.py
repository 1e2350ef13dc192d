"""helpdesk_core imports no I/O library (DESIGN principle 1) and never reads the wall clock."""

from __future__ import annotations

import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import helpdesk_core

FORBIDDEN = (
    "sqlalchemy",
    "psycopg",
    "psycopg2",
    "smtplib",
    "imaplib",
    "poplib",
    "http.client",
    "urllib.request",
    "requests",
    "httpx",
    "aiohttp",
    "socket",
    "ssl",
    "asyncio",
    "sqlite3",
    "aiosmtplib",
    "fastapi",
    "starlette",
)


def test_importing_every_core_module_loads_no_io_library() -> None:
    modules = [
        m.name
        for m in pkgutil.walk_packages(helpdesk_core.__path__, "helpdesk_core.")
        if not m.name.startswith("helpdesk_core.testing")
    ]
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
    bad = sorted(m for m in loaded for f in FORBIDDEN if m == f or m.startswith(f + "."))
    assert bad == [], f"helpdesk_core pulled in I/O modules: {bad}"
    assert len(modules) > 10


def test_domain_never_reads_the_wall_clock() -> None:
    root = Path(helpdesk_core.__file__).parent
    pattern = re.compile(
        r"datetime\.now\(|datetime\.utcnow\(|time\.time\(|pendulum\.now\(|date\.today\("
    )
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "clock.py" or "testing" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []
