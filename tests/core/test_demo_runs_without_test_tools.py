"""The README's first command runs the demo with only the runtime dependencies: it must not
need pytest (helpdesk_core.testing imports the storage contract lazily)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_with_pytest_and_hypothesis_hidden() -> None:
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('pytest', 'hypothesis', '_pytest'):\n"
        "            raise ImportError(f'{name} is not installed in a fresh demo venv')\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.argv = ['demo', '--url', 'sqlite://']\n"
        f"exec(compile(open({str(ROOT / 'examples' / 'demo.py')!r}).read(), 'demo.py', 'exec'),"
        " {'__name__': '__main__'})\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", blocker], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "SLA clocks at" in out.stdout
