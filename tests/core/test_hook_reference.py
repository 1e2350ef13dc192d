"""docs/hooks.md is generated from the hookspecs and documents every hook (no drift)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from helpdesk_core import hookspecs

DOCS = Path(__file__).resolve().parents[2] / "docs"
Loader = Callable[[str], ModuleType]


def test_hook_reference_is_up_to_date(docs_script: Loader) -> None:
    render = docs_script("render_hooks").render
    committed = (DOCS / "hooks.md").read_text(encoding="utf-8")
    assert committed == render(), "run: python docs/render_hooks.py > docs/hooks.md"


def test_every_hook_is_documented_fully(docs_script: Loader) -> None:
    names = docs_script("render_hooks").hook_names()
    assert len(names) >= 7
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    for name in names:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert f"## `{name}`" in text
        assert ".. versionadded::" in doc, name
        assert "Called" in doc, f"{name}: say when it is called"
        if getattr(hookspecs, name).helpdesk_spec.get("firstresult"):
            assert "Stops at the first non-None result." in doc, name
