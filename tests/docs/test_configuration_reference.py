"""docs/configuration.md names every configuration key the parsers accept (no drift).

The keys are taken from the parsers themselves: an unknown key makes each one list the keys it
knows in its error, so a key added to the code without a line in the reference fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from helpdesk_core.config import default_registry, load_config
from helpdesk_core.errors import ConfigError

DOCS = Path(__file__).resolve().parents[2] / "docs"
UNKNOWN = "zz_not_a_key"

PROBES: list[tuple[str, dict[str, Any]]] = [
    ("top level", {UNKNOWN: 1}),
    ("desk", {"desk": {UNKNOWN: "x"}}),
    ("workflow", {"workflow": {UNKNOWN: 1}}),
    ("calendars.<name>", {"calendars": {"c": {UNKNOWN: 1}}}),
    ("sla", {"sla": {UNKNOWN: 1}}),
    ("sla.policies[]", {"sla": {"policies": [{"name": "p", UNKNOWN: 1}]}}),
    ("sla.metrics[]", {"sla": {"metrics": [{"name": "m", UNKNOWN: 1}]}}),
    (
        "sla target table",
        {"sla": {"policies": [{"name": "p", "targets": {"*": {"resolution": {UNKNOWN: 1}}}}]}},
    ),
    ("permissions", {"permissions": {UNKNOWN: 1}}),
    ("routing", {"routing": {UNKNOWN: 1}}),
    ("routing.rules[]", {"routing": {"rules": [{UNKNOWN: 1}]}}),
    ("escalation.policies[]", {"escalation": {"policies": [{"name": "e", UNKNOWN: 1}]}}),
    (
        "escalation levels",
        {
            "escalation": {
                "policies": [{"name": "e", "levels": [{"trigger": {"idle": "1h"}, UNKNOWN: 1}]}]
            }
        },
    ),
    ("storage", {"storage": {UNKNOWN: 1}}),
    ("reviews", {"reviews": {UNKNOWN: 1}}),
    ("email", {"email": {UNKNOWN: 1}}),
    ("email.smtp", {"email": {"smtp": {UNKNOWN: 1}}}),
    ("webhook", {"webhook": {UNKNOWN: 1}}),
    ("alarms", {"alarms": {UNKNOWN: 1}}),
    ("surveys", {"surveys": {UNKNOWN: 1}}),
]
# tables whose errors do not list their keys
LISTED_BY_HAND = {
    "custom_fields.<name>": ["type", "required", "choices", "label", "pii"],
    "workflow.transitions[]": ["from", "to", "roles", "requires", "reopen"],
    "permissions.rules[]": ["id", "roles", "actions", "scope", "where", "effect", "description"],
    "sla.policies[].warnings": ["fractions", "before_due"],
    "escalation": ["preset", "policies"],
    "problem_records": ["priorities"],  # one key: the probe needs two to trust the listing
    "escalation.policies[].on_call": ["members", "start", "period", "calendar"],
}


def _owned_by_the_library(section: str) -> bool:
    parser = default_registry().parser(section)
    return parser is None or parser.__module__.startswith("helpdesk_")


def known_keys(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    message = str(caught.value)
    assert UNKNOWN in message, message
    listed = re.search(r"\[([^\]]*)\]\s*$", message)
    assert listed, f"the error does not list the known keys: {message}"
    return [k.strip().strip("'\"") for k in listed.group(1).split(",")]


# the key table each probe reaches, as the parsers declare it (docs/configuration-keys.md)
DECLARED_AS = {
    "calendars.<name>": "calendars.<name>",
    "sla.policies[]": "sla.policies[]",
    "sla.metrics[]": "sla.metrics[]",
    "sla target table": "sla.policies[].targets.<priority>.<metric>",
    "routing.rules[]": "routing.rules[]",
    "escalation.policies[]": "escalation.policies[]",
    "escalation levels": "escalation.policies[].levels[]",
}


@pytest.mark.parametrize(("table", "raw"), PROBES[1:], ids=[p[0] for p in PROBES[1:]])
def test_the_declared_keys_are_the_keys_the_parser_accepts(table: str, raw: dict[str, Any]) -> None:
    """``@config_keys`` declarations (the generated key reference) match each parser's check."""
    path = DECLARED_AS.get(table, table)
    section = path.split(".")[0].split("[")[0]
    declared = default_registry().key_tables()[section]
    assert sorted(known_keys(raw)) == list(declared[path])


@pytest.mark.parametrize(("table", "raw"), PROBES, ids=[p[0] for p in PROBES])
def test_every_key_the_parser_knows_is_documented(table: str, raw: dict[str, Any]) -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    keys = known_keys(raw)
    if table == "top level":  # sections other tests (or docs examples) registered are theirs
        keys = [k for k in keys if _owned_by_the_library(k)]
    assert len(keys) >= 2
    missing = [k for k in keys if f"`{k}`" not in text]
    assert not missing, f"{table}: document {missing} in docs/configuration.md"


@pytest.mark.parametrize("table", sorted(LISTED_BY_HAND))
def test_tables_listed_by_hand_are_documented(table: str) -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [k for k in LISTED_BY_HAND[table] if f"`{k}`" not in text]
    assert not missing, f"{table}: document {missing}"
