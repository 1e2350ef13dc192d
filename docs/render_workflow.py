"""Render the default workflow's tables for docs/concepts.md from the code.

Run ``python docs/render_workflow.py`` and paste its output between the ``workflow-table``
markers of docs/concepts.md; tests/docs/test_concepts.py fails when the committed tables differ
from what this prints, so the chapter cannot drift from ``DEFAULT_WORKFLOW``.
"""

from __future__ import annotations

from helpdesk_core.lifecycle import DEFAULT_WORKFLOW, Workflow


def render(workflow: Workflow = DEFAULT_WORKFLOW) -> str:
    lines = [
        "| status | category | waiting (a customer message moves it back to work) |",
        "|---|---|---|",
    ]
    for name, status in workflow.statuses.items():
        initial = " (initial)" if name == workflow.initial else ""
        pause = "yes" if name in workflow.pause_statuses else ""
        lines.append(f"| `{name}`{initial} | {status.category} | {pause} |")
    lines += [
        "",
        "| from | to | who (empty: anyone the permission matrix lets act) | requires | reopen |",
        "|---|---|---|---|---|",
    ]
    for t in workflow.transitions:
        roles = ", ".join(sorted(t.roles))
        requires = ", ".join(t.requires)
        reopen = "yes" if t.reopen else ""
        lines.append(f"| `{t.source}` | `{t.target}` | {roles} | {requires} | {reopen} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
