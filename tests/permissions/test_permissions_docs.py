"""docs/permissions.md shows the real default matrix and its example runs."""

from __future__ import annotations

import re
from pathlib import Path

from helpdesk_core.permissions import PermissionMatrix

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def test_rendered_default_matrix_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- default-matrix:start -->\n")[1].split("<!-- default-matrix:end -->")[0]
    assert table == PermissionMatrix.default().to_markdown()


def test_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert blocks
    namespace: dict[str, object] = {"__name__": "docs_permissions"}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)


def test_configuration_example_loads() -> None:
    from helpdesk_core import Actor, Helpdesk

    toml = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(toml) == 1
    desk = Helpdesk(config=toml[0], load_entrypoints=False)
    billing = Actor(id="b1", roles={"billing"})
    assert "invoice.refund" in desk.policy.actions  # type: ignore[attr-defined]
    assert desk.policy.scope(billing, "ticket.view").to_data() == {"type": {"eq": "complaint"}}
