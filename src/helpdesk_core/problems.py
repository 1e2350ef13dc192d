"""The problem record on a ticket (R-TKT-6): which tickets get one, and what recording the
workaround does.

Semantics, cited by tests and docs/surveys.md:

1. A problem record applies to tickets whose priority is in ``[problem_records] priorities``:
   by default the desk's two highest priorities (``urgent`` and ``high``, the guides' P1/P2).
   ``record_workaround`` on any other ticket is ``ValidationError('ticket_id')``; a desk opts
   other priorities in by listing them.
2. ``record_workaround`` writes one ``workaround_sent`` event: the workaround text (the
   ticket's ``workaround`` field), the resolution time the customer may expect (the ticket's
   ``expected_resolution_at``, kept when not given) and a public reply carrying the text to the
   customer on their preferred channel (their customer record's ``preferred_channel`` when it
   is one of the desk's channels, else the ticket's). The requester hears of it through the
   outbox like of any reply.
3. The SLA metric ``workaround`` (:data:`helpdesk_core.sla.WORKAROUND`) starts when the ticket
   is created and is met by that event; policies give it targets per priority like any metric.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from helpdesk_core.config import (
    DEFAULT_PRIORITIES,
    ConfigContext,
    HelpdeskConfig,
    config_keys,
    table,
)
from helpdesk_core.errors import ConfigError
from helpdesk_core.model.tickets import Ticket

_KEYS: Final = ("priorities",)


@attrs.frozen
class ProblemRecordsConfig:
    """The validated ``[problem_records]`` section (``None``: the desk's two highest
    priorities)."""

    priorities: tuple[str, ...] | None = None

    def applies(self, ticket: Ticket, desk_priorities: tuple[str, ...]) -> bool:
        chosen = self.priorities if self.priorities is not None else desk_priorities[:2]
        return ticket.priority in chosen


@config_keys({"problem_records": _KEYS})
def parse_problem_records(value: Any, path: str, context: ConfigContext) -> ProblemRecordsConfig:
    """``[problem_records] priorities = ["urgent", "high"]``; each must be a desk priority."""
    section = table(value, path, _KEYS)
    if "priorities" not in section:
        return ProblemRecordsConfig()
    listed = section["priorities"]
    known = context.raw.get("priorities", DEFAULT_PRIORITIES)
    if isinstance(listed, str) or not isinstance(listed, list):
        raise ConfigError(f"{path}.priorities", "must be a list of priorities", listed)
    for i, name in enumerate(listed):
        if not isinstance(name, str) or name not in known:
            raise ConfigError(
                f"{path}.priorities[{i}]", f"is not a priority of the desk; known: {list(known)}"
            )
    return ProblemRecordsConfig(tuple(listed))


def problem_records_config(config: HelpdeskConfig) -> ProblemRecordsConfig:
    found = config.sections.get("problem_records")
    return found if isinstance(found, ProblemRecordsConfig) else ProblemRecordsConfig()
