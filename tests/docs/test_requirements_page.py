"""docs/requirements.md explains every requirement id the code, tests and docs cite, and every
page that cites one links to it, so an ``R-...`` id always leads somewhere a reader can look."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ID = re.compile(r"\bR-[A-Z]+-\d+\b")
ROW = re.compile(r"^\| (R-[A-Z]+-\d+) \| ([^|]+) \| ([^|]+) \|$", re.MULTILINE)


def page_rows() -> dict[str, tuple[str, str]]:
    text = (DOCS / "requirements.md").read_text(encoding="utf-8")
    rows = ROW.findall(text)
    ids = [row[0] for row in rows]
    assert len(ids) == len(set(ids)), "an id is listed twice"
    return {rid: (what.strip(), where.strip()) for rid, what, where in rows}


def cited(paths: list[Path]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in paths:
        for rid in ID.findall(path.read_text(encoding="utf-8")):
            found.setdefault(rid, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_listed_requirement_says_what_and_where() -> None:
    rows = page_rows()
    assert len(rows) >= 40
    for rid, (what, where) in rows.items():
        assert len(what.split()) >= 6, rid
        assert where, rid


def test_every_id_the_sources_cite_is_on_the_page() -> None:
    rows = page_rows()
    sources = sorted((ROOT / "src").rglob("*.py")) + sorted((ROOT / "tests").rglob("*.py"))
    pages = [p for p in sorted(DOCS.glob("*.md")) if p.name != "requirements.md"]
    unknown = {rid: where for rid, where in cited(sources + pages).items() if rid not in rows}
    assert not unknown, f"cited but not on docs/requirements.md: {unknown}"


def test_every_page_citing_an_id_links_to_the_page() -> None:
    pages = [p for p in sorted(DOCS.glob("*.md")) if p.name != "requirements.md"]
    citing = [p for p in pages if ID.search(p.read_text(encoding="utf-8"))]
    assert citing
    unlinked = [p.name for p in citing if "](requirements.md" not in p.read_text(encoding="utf-8")]
    assert not unlinked, f"link these to requirements.md: {unlinked}"
