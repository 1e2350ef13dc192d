"""The documentation site builds with ``mkdocs build --strict``: every page in the nav exists,
every page is in the nav, and no link or anchor is broken (a warning fails the build).

mkdocs-material is in the ``tests`` dependency group, so CI runs this test; it is not skipped
when mkdocs is missing, it fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build(site: Path, config: Path = ROOT / "mkdocs.yml") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_the_site_builds_without_a_warning(tmp_path: Path) -> None:
    result = build(tmp_path / "site")
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "site" / "index.html").exists()
    for page in ("tutorial", "configuration-keys", "operations", "requirements", "hooks"):
        assert (tmp_path / "site" / page / "index.html").exists(), page


def test_a_broken_anchor_fails_the_build(tmp_path: Path) -> None:
    """The strict build is not vacuous: a link to a missing anchor stops it."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\n[gone](other.md#no-such-heading)\n", "utf-8")
    (docs / "other.md").write_text("# Other\n", "utf-8")
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        text.split("\nnav:")[0].replace("docs_dir: docs", f"docs_dir: {docs}"), "utf-8"
    )
    result = build(tmp_path / "site", config)
    assert result.returncode != 0
    assert "no-such-heading" in result.stderr
