"""docs/hooks.md is generated from the hookspecs and documents every hook (no drift)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from helpdesk_core import hookspecs

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _renderer() -> object:
    spec = importlib.util.spec_from_file_location("render_hooks", DOCS / "render_hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hook_reference_is_up_to_date() -> None:
    render = _renderer().render  # type: ignore[attr-defined]
    committed = (DOCS / "hooks.md").read_text(encoding="utf-8")
    assert committed == render(), "run: python docs/render_hooks.py > docs/hooks.md"


def test_every_hook_is_documented_fully() -> None:
    names = _renderer().hook_names()  # type: ignore[attr-defined]
    assert len(names) >= 7
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    for name in names:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert f"## `{name}`" in text
        assert ".. versionadded::" in doc, name
        assert "Called" in doc, f"{name}: say when it is called"
        if getattr(hookspecs, name).helpdesk_spec.get("firstresult"):
            assert "Stops at the first non-None result." in doc, name
