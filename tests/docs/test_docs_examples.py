"""Every ```python block of every docs/*.md runs, top to bottom, one namespace per file; every
```toml block parses, and those starting with ``# helpdesk-config`` load as a desk config."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from helpdesk_core.config import load_config

DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
PAGES = sorted(DOCS.glob("*.md"))


def blocks(page: Path, language: str) -> list[tuple[int, str]]:
    text = page.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(2))
        for m in FENCE.finditer(text)
        if m.group(1) == language
    ]


def test_there_are_docs_to_check() -> None:
    assert {"calendars.md", "sla.md", "permissions.md"} <= {p.name for p in PAGES}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_python_examples_run(page: Path, capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for line, code in blocks(page, "python"):
        try:
            exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
        except Exception as exc:
            pytest.fail(f"{page.name}, python block at line {line}: {type(exc).__name__}: {exc}")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_toml_examples_parse_and_configs_load(page: Path) -> None:
    for line, text in blocks(page, "toml"):
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            pytest.fail(f"{page.name}, toml block at line {line}: {exc}")
        if text.lstrip().startswith("# helpdesk-config"):
            load_config(data)
