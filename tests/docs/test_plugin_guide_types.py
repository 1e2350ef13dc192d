"""The plugin author guide's examples are typed: joined in page order (they run in one
namespace, as tests/docs/test_docs_examples.py runs them), they pass ``mypy --strict``.

mypy is in the ``tests`` dependency group, so CI runs this; it fails rather than skips when
mypy is missing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return [m.group(2) for m in FENCE.finditer(text) if m.group(1) == "python"]


def mypy_strict(source: str, folder: Path) -> subprocess.CompletedProcess[str]:
    module = folder / "plugin_guide_examples.py"
    module.write_text(source, encoding="utf-8")
    env = {**os.environ, "MYPYPATH": str(ROOT / "src")}
    return subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
            "--cache-dir", str(folder / ".mypy_cache"), str(module),
        ],
        capture_output=True, text=True, env=env, cwd=folder, check=False,
    )  # fmt: skip


def test_the_plugin_guide_examples_pass_mypy_strict(tmp_path: Path) -> None:
    blocks = python_blocks(ROOT / "docs" / "plugins.md")
    assert len(blocks) >= 6
    result = mypy_strict("\n\n".join(blocks), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_untyped_hook_would_fail(tmp_path: Path) -> None:
    """The check is real: the guide's first hook without its annotations fails mypy --strict."""
    untyped = (
        "from helpdesk_core import hookimpl\n\n\n"
        "class Plugin:\n"
        "    @hookimpl\n"
        "    def helpdesk_register_notifiers(self, config):\n"
        "        return []\n"
    )
    result = mypy_strict(untyped, tmp_path)
    assert result.returncode != 0
    assert "no-untyped-def" in result.stdout
