"""The shared condition language (DESIGN principle 5)."""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import given

from helpdesk_core.conditions import (
    FALSE,
    TRUE,
    ConditionRegistry,
    compile_condition,
    default_registry,
)
from helpdesk_core.errors import ConditionError

TICKET = {
    "priority": "high",
    "type": "complaint",
    "channel": "email",
    "customer.tier": "vip",
    "custom.complexity": 8,
    "tags": frozenset({"refund", "vip"}),
    "subject": "Parcel arrived broken",
    "assignee": None,
}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"priority": "high"}, True),
        ({"priority": {"eq": "low"}}, False),
        ({"priority": {"ne": "low"}}, True),
        ({"customer.tier": {"in": ["vip", "strategic"]}}, True),
        ({"customer.tier": {"not_in": ["vip"]}}, False),
        ({"custom.complexity": {"gte": 8}}, True),  # R-RTE-2: complexity >= 8 -> tech
        ({"custom.complexity": {"gt": 8}}, False),
        ({"custom.complexity": {"lte": 8, "gte": 1}}, True),
        ({"custom.complexity": {"lt": 8}}, False),
        ({"tags": {"contains": "refund"}}, True),
        ({"subject": {"contains": "broken"}}, True),
        ({"subject": {"matches": "^Parcel .* broken$"}}, True),
        ({"assignee": {"exists": False}}, True),
        ({"assignee": {"exists": True}}, False),
        ({"assignee": None}, True),
        ({"assignee": {"in": ["a"]}}, False),
        ({"assignee": {"not_in": ["a"]}}, True),
        ({"assignee": {"gte": "a"}}, False),
        ({"all": [{"priority": "high"}, {"channel": "email"}]}, True),
        ({"any": [{"priority": "low"}, {"channel": "phone"}]}, False),
        ({"not": {"priority": "low"}}, True),
        ({"all": []}, True),
        ({"any": []}, False),
        ({}, True),
        ({"custom.complexity": {"gte": "8"}}, False),  # mismatched types never match
    ],
)
def test_operators(data: dict[str, Any], expected: bool) -> None:
    assert compile_condition(data).matches(TICKET) is expected


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"priorty": "high"}, "condition.priorty"),
        ({"priority": {"equals": "high"}}, "condition.priority.equals"),
        ({"priority": {"in": "high"}}, "condition.priority.in"),
        ({"all": {"priority": "high"}}, "condition.all"),
        ({"any": [{"priority": "x"}, {"subject": {"matches": "("}}]}, "condition.any[1].subject"),
        ({"not": 3}, "condition.not"),
        ("priority == high", "condition"),
        ({"assignee": {"exists": "yes"}}, "condition.assignee.exists"),
        ({"priority": {}}, "condition.priority"),
    ],
)
def test_errors_name_the_key_path(data: Any, path: str) -> None:
    with pytest.raises(ConditionError) as info:
        compile_condition(data)
    assert info.value.path.startswith(path)
    assert str(info.value).startswith(path)


def test_registry_adds_fields_and_operators() -> None:
    registry = default_registry()
    with pytest.raises(ConditionError):
        compile_condition({"region": "north"}, registry=registry)
    registry.add_field("region")
    registry.add_operator("starts_with", lambda value, arg: str(value).startswith(arg))
    cond = compile_condition({"region": {"starts_with": "no"}}, registry=registry)
    assert cond.matches({"region": "north"}) and not cond.matches({"region": "south"})
    with pytest.raises(ConditionError):
        ConditionRegistry().add_operator("eq", lambda a, b: True)


LEAVES = st.sampled_from(
    [{"priority": "high"}, {"channel": "phone"}, {"tags": {"contains": "vip"}}, {}]
)
CONDITIONS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=8,
)


@given(CONDITIONS)
def test_canonical_form_round_trips(data: dict[str, Any]) -> None:
    cond = compile_condition(data)
    again = compile_condition(cond.to_data())
    assert again.matches(TICKET) == cond.matches(TICKET)
    assert (cond & TRUE).matches(TICKET) == cond.matches(TICKET)
    assert (cond | FALSE).matches(TICKET) == cond.matches(TICKET)
    assert (~cond).matches(TICKET) != cond.matches(TICKET)
