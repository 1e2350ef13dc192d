"""Erlang C staffing (R-OPS-1): published worked examples, an exact oracle, properties."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_core.errors import ValidationError
from helpdesk_core.staffing import (
    average_speed_of_answer,
    erlang_b,
    erlang_c_agents,
    offered_load,
    service_level,
    wait_probability,
)


def exact_erlang_c(n: int, a: Fraction) -> Fraction:
    """The textbook sum formula in exact rationals (factorials and all): the oracle."""
    top = a**n / math.factorial(n) * Fraction(n) / (n - a)
    bottom = sum((a**k / math.factorial(k) for k in range(n)), Fraction(0)) + top
    return top / bottom


def test_r_ops_1_worked_example_100_calls_per_half_hour_needs_14_agents() -> None:
    # 100 calls per 30 minutes, 180 s handle time, 80 % within 20 s: 10 Erlangs
    assert offered_load(200, 180) == pytest.approx(10.0)
    assert erlang_c_agents(200, 180, answer_within_seconds=20, service_level=0.8) == 14
    # the published intermediate figures: Pw 17.41 %, SL 88.84 %, ASA 7.8 s with 14 agents
    assert wait_probability(14, 10.0) == pytest.approx(0.1741, abs=5e-5)
    assert service_level(14, 200, 180, answer_within_seconds=20) == pytest.approx(0.8884, abs=5e-5)
    assert average_speed_of_answer(14, 200, 180) == pytest.approx(7.8, abs=0.05)
    # and 13 agents fall just short (79.56 %)
    assert service_level(13, 200, 180, answer_within_seconds=20) == pytest.approx(0.7956, abs=5e-5)


def test_erlang_b_textbook_value() -> None:
    # the classic table: 10 servers, 5 Erlangs -> blocking 1.84 %
    assert erlang_b(10, 5.0) == pytest.approx(0.01838, abs=5e-5)


@given(n=st.integers(1, 40), a=st.fractions(Fraction(1, 10), Fraction(39)))
def test_erlang_c_by_recurrence_matches_the_exact_factorial_formula(n: int, a: Fraction) -> None:
    if n <= a:
        assert wait_probability(n, float(a)) == 1.0
        return
    assert wait_probability(n, float(a)) == pytest.approx(float(exact_erlang_c(n, a)), rel=1e-9)


def test_stable_at_hundreds_and_thousands_of_erlangs() -> None:
    # 1,200 calls an hour at 10 minutes each is 200 Erlangs; 12,000 an hour is 2,000 Erlangs:
    # the factorials would overflow a float (171! already does), the recurrence does not
    for calls, expect_load in ((1200, 200.0), (12_000, 2000.0)):
        n = erlang_c_agents(calls, 600, answer_within_seconds=20, service_level=0.8)
        assert math.isfinite(wait_probability(n, expect_load))
        assert expect_load < n < expect_load * 1.2
        level = service_level(n, calls, 600, answer_within_seconds=20)
        assert level >= 0.8
        assert service_level(n - 1, calls, 600, answer_within_seconds=20) < 0.8


@given(
    calls=st.floats(1, 5000),
    more=st.floats(0, 2000),
    handle=st.floats(10, 1800),
    within=st.floats(0, 600),
    level=st.floats(0.05, 0.99),
)
def test_agents_are_monotone_in_load(
    calls: float, more: float, handle: float, within: float, level: float
) -> None:
    low = erlang_c_agents(calls, handle, answer_within_seconds=within, service_level=level)
    high = erlang_c_agents(calls + more, handle, answer_within_seconds=within, service_level=level)
    assert high >= low
    assert low > offered_load(calls, handle)


@given(n=st.integers(0, 300), calls=st.floats(1, 3000), within=st.floats(0, 300))
def test_more_agents_never_lower_the_service_level(n: int, calls: float, within: float) -> None:
    now = service_level(n, calls, 300, answer_within_seconds=within)
    more = service_level(n + 1, calls, 300, answer_within_seconds=within)
    assert 0.0 <= now <= more <= 1.0


def test_no_calls_need_no_agents() -> None:
    assert erlang_c_agents(0, 180, answer_within_seconds=20, service_level=0.8) == 0
    assert average_speed_of_answer(0, 0, 180) == 0.0


def test_too_few_agents_never_catch_up() -> None:
    assert wait_probability(10, 10.0) == 1.0
    assert service_level(10, 200, 180, answer_within_seconds=20) == 0.0
    assert average_speed_of_answer(10, 200, 180) == math.inf


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"calls_per_hour": -1}, "calls_per_hour"),
        ({"calls_per_hour": "200"}, "calls_per_hour"),
        ({"handle_seconds": 0}, "handle_seconds"),
        ({"handle_seconds": math.nan}, "handle_seconds"),
        ({"answer_within_seconds": -5}, "answer_within_seconds"),
        ({"service_level": 1.0}, "service_level"),
        ({"service_level": 0}, "service_level"),
        ({"service_level": True}, "service_level"),
    ],
)
def test_bad_input_names_the_parameter(kwargs: dict[str, object], name: str) -> None:
    args: dict[str, object] = {
        "calls_per_hour": 200,
        "handle_seconds": 180,
        "answer_within_seconds": 20,
        "service_level": 0.8,
        **kwargs,
    }
    with pytest.raises(ValidationError) as info:
        erlang_c_agents(**args)  # type: ignore[arg-type]
    assert info.value.field == name
