"""docs/concepts.md shows the default workflow exactly as the code defines it (R-TKT-3)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_lifecycle_tables_match_the_default_workflow(
    docs_script: Callable[[str], ModuleType],
) -> None:
    render = docs_script("render_workflow").render
    text = (DOCS / "concepts.md").read_text(encoding="utf-8")
    start = text.index("<!-- workflow-table:")
    body = text[text.index("\n", start) + 1 : text.index("<!-- /workflow-table -->")]
    assert body == render(), "run: python docs/render_workflow.py, paste into concepts.md"
