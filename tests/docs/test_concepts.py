"""docs/concepts.md shows the default workflow exactly as the code defines it (R-TKT-3)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_lifecycle_tables_match_the_default_workflow() -> None:
    spec = importlib.util.spec_from_file_location("render_workflow", DOCS / "render_workflow.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (DOCS / "concepts.md").read_text(encoding="utf-8")
    start = text.index("<!-- workflow-table:")
    body = text[text.index("\n", start) + 1 : text.index("<!-- /workflow-table -->")]
    assert body == module.render(), "run: python docs/render_workflow.py, paste into concepts.md"
