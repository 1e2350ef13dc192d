"""Issue 18: the same bad call gives the same error on every store, and each error the issue
lists is a named regression case (R-SEC-1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from helpdesk_core import Actor, ConfigError, Helpdesk, HelpdeskError, ValidationError, load_config
from helpdesk_core.errors import ConditionError
from helpdesk_core.testing import FixedClock

ADMIN = Actor(id="root", roles={"admin"})
AGENT = Actor(id="a-1", roles={"agent"}, team="after-sales")
CUSTOMER = Actor(id="C1", roles={"customer"}, organisation="acme")
CONFIG: dict[str, Any] = {"desk": {"default_team": "after-sales"}}

NESTED: Any = {"priority": "normal"}
for _ in range(5000):
    NESTED = {"not": NESTED}

Call = Callable[[Helpdesk, str], Any]

# name -> (call given a desk and an existing ticket id, the error type)
CASES: dict[str, tuple[Call, type[HelpdeskError]]] = {
    "nul_in_subject": (
        lambda d, t: d.open_ticket(CUSTOMER, subject="a\x00b", channel="email"),
        ValidationError,
    ),
    "lone_surrogate_in_body": (lambda d, t: d.reply(AGENT, t, "\ud800"), ValidationError),
    "dict_as_id": (lambda d, t: d.get_ticket(AGENT, {"id": t}), ValidationError),
    "list_as_id": (lambda d, t: d.get_ticket(AGENT, [t]), ValidationError),
    "int_grant_id": (lambda d, t: d.approve_grant(ADMIN, 5), ValidationError),
    "huge_number_in_filter": (
        lambda d, t: d.tickets(ADMIN, where={"tier": {"gt": 10**30}}),
        ConditionError,
    ),
    "transfer_tier_text": (
        lambda d, t: d.transfer(AGENT, t, team="tech", summary="s", tier="x"),
        ValidationError,
    ),
    "condition_5000_deep": (lambda d, t: d.tickets(ADMIN, where=NESTED), ConditionError),
    "none_summary": (
        lambda d, t: d.transfer(AGENT, t, team="tech", summary=None),
        ValidationError,
    ),
    "none_split_subject": (lambda d, t: d.split(AGENT, t, ["m1"], subject=None), ValidationError),
    "none_grant_reason": (
        lambda d, t: d.request_grant(
            AGENT,
            grantee="a-1",
            actions=["ticket.view"],
            where={},
            valid_until=d.clock.now(),
            reason=None,
        ),
        ValidationError,
    ),
    "unknown_order_by": (lambda d, t: d.tickets(ADMIN, order_by="nosuch"), ValidationError),
    "unknown_export_column": (
        lambda d, t: d.export_tickets(ADMIN, columns=["nope"]),
        ValidationError,
    ),
    "status_filter_int": (lambda d, t: d.tickets(ADMIN, status=5), ValidationError),
    "unknown_count_filter": (lambda d, t: d.count_tickets(ADMIN, bogus=1), ValidationError),
    "non_actor": (lambda d, t: d.get_ticket("root", t), ValidationError),
    "garbage_now": (lambda d, t: d.get_ticket(ADMIN, t, now="garbage"), ValidationError),
    "subject_none_update": (
        lambda d, t: d.update_ticket(AGENT, t, fields={"subject": None}),
        ValidationError,
    ),
    "negative_limit": (lambda d, t: d.tickets(ADMIN, limit=-1), ValidationError),
    "int_tags": (
        lambda d, t: d.open_ticket(CUSTOMER, subject="s", channel="email", tags=[1, 2]),
        ValidationError,
    ),
    "int_team": (
        lambda d, t: d.open_ticket(ADMIN, subject="s", channel="email", team=123),
        ValidationError,
    ),
    "int_organisation": (
        lambda d, t: d.open_ticket(ADMIN, subject="s", channel="email", organisation=5),
        ValidationError,
    ),
    "int_assignee": (lambda d, t: d.assign(ADMIN, t, 123), ValidationError),
    "none_description": (
        lambda d, t: d.open_ticket(CUSTOMER, subject="s", channel="email", description=None),
        ValidationError,
    ),
    "undeclared_reply_channel": (
        lambda d, t: d.reply(AGENT, t, "x", channel="fax"),
        ValidationError,
    ),
    "add_tags_bare_string": (
        lambda d, t: d.update_ticket(AGENT, t, add_tags="abc"),
        ValidationError,
    ),
}


@pytest.fixture
def outcomes(store_url: str) -> Iterator[dict[str, tuple[str, str]]]:
    with Helpdesk(
        config=CONFIG,
        storage_url=store_url,
        clock=FixedClock("2026-11-02T09:00:00+08:00"),
        load_entrypoints=False,
    ) as desk:
        ticket = desk.open_ticket(CUSTOMER, subject="Broken", channel="email").id
        found: dict[str, tuple[str, str]] = {}
        for name, (call, expected) in CASES.items():
            with pytest.raises(expected) as caught:
                call(desk, ticket)
            found[name] = (type(caught.value).__name__, str(caught.value).replace(ticket, "T"))
        yield found


REFERENCE: dict[str, tuple[str, str]] = {}


def test_each_bad_call_gives_the_same_error_on_every_store(
    outcomes: dict[str, tuple[str, str]],
) -> None:
    if not REFERENCE:
        REFERENCE.update(outcomes)
    assert outcomes == REFERENCE


def test_config_errors_name_their_key_path() -> None:
    with pytest.raises(ConfigError, match="a configuration is a table"):
        load_config(["not", "a", "table"])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^sla\.policies\[0\]\.targets\.normal\.first_response"):
        load_config(
            {
                "sla": {
                    "policies": [
                        {
                            "name": "p",
                            "targets": {"normal": {"first_response": "99999999999999999999h"}},
                        }
                    ]
                }
            }
        )
    deep: Any = {"priority": "normal"}
    for _ in range(40):
        deep = {"not": deep}
    with pytest.raises(ConfigError, match="nests deeper than 32"):
        load_config({"routing": {"rules": [{"id": "r", "where": deep, "team": "t"}]}})


def test_an_assignee_the_directory_does_not_know_is_refused() -> None:
    """Issue 18: agents are checked against the directory once it declares any."""
    from helpdesk_core import Agent

    with Helpdesk(config=CONFIG, load_entrypoints=False) as desk:
        ticket = desk.open_ticket(CUSTOMER, subject="Broken", channel="email").id
        desk.assign(ADMIN, ticket, "a-anyone")  # no directory: hosts that keep agents elsewhere
        desk.save_agent(ADMIN, Agent(id="a-1", name="A", team="after-sales"))
        with pytest.raises(ValidationError, match="not an agent of the directory"):
            desk.assign(ADMIN, ticket, "a-typo")
        assert desk.assign(ADMIN, ticket, "a-1").assignee == "a-1"
