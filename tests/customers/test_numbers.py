"""Customer numbers (R-CUS-1): pattern syntax, daily serials that widen, allocation that never
repeats a number and skips ids hosts made by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.customer_numbers import (
    DEFAULT_NUMBER_PATTERN,
    NumberPattern,
    allocate_customer_number,
    local_date,
)
from helpdesk_core.customers import new_customer
from helpdesk_core.errors import ConfigError
from helpdesk_core.testing.customer_contract import SETTINGS
from helpdesk_plugins.storage_memory import MemoryStorage

DEFAULT = NumberPattern.parse(DEFAULT_NUMBER_PATTERN)
DAY = date(2026, 11, 22)


def test_r_cus_1_default_numbers_are_c_date_serial_widening_past_999() -> None:
    assert DEFAULT.render(DAY, 1) == "C20261122001"
    assert DEFAULT.render(DAY, 999) == "C20261122999"
    assert DEFAULT.render(DAY, 1000) == "C202611221000"
    assert DEFAULT.sequence(DAY) == "customer:C20261122#"


def test_pattern_placeholders() -> None:
    pattern = NumberPattern.parse("CU-{yy}{mm}{dd}-{serial:5}")
    assert pattern.render(date(2027, 1, 5), 42) == "CU-270105-00042"
    assert NumberPattern.parse("K{yyyy}{serial:1}").render(DAY, 7) == "K20267"
    assert NumberPattern.parse("VIP{serial}").sequence(DAY) == "customer:VIP#"  # one counter


@pytest.mark.parametrize(
    "text",
    [
        "",
        "C{date}",
        "C{serial}{serial}",
        "C{serial}{dd}",
        "C{hour}{serial}",
        "C{serial:0}",
        "C{serial:13}",
        "C{{date}}{serial}",
        "C}{serial}",
    ],
)
def test_malformed_patterns_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        NumberPattern.parse(text)
    assert info.value.path == "customers.number_pattern"


def test_the_serial_counts_in_the_desks_local_day() -> None:
    late = datetime(2026, 11, 22, 16, 30, tzinfo=UTC)  # 00:30 on the 23rd in Shanghai
    assert local_date(late, "Asia/Shanghai") == date(2026, 11, 23)
    assert local_date(late, "UTC") == date(2026, 11, 22)


@given(
    days=st.lists(st.dates(date(2000, 1, 1), date(2099, 12, 31)), min_size=1, max_size=4),
    serials=st.lists(st.integers(1, 20000), min_size=1, max_size=30),
)
def test_distinct_days_and_serials_never_render_the_same_number(
    days: list[date], serials: list[int]
) -> None:
    pairs = {(d, n) for d in days for n in serials}
    assert len({DEFAULT.render(d, n) for d, n in pairs}) == len(pairs)


@settings(max_examples=40, deadline=None)
@given(
    taken=st.sets(st.integers(1, 40), max_size=25),
    count=st.integers(1, 40),
    hour=st.integers(0, 47),
)
def test_allocation_is_unique_and_skips_ids_in_use(taken: set[int], count: int, hour: int) -> None:
    """Hypothesis: whatever ids hosts created by hand, allocated numbers are new and distinct."""
    now = datetime(2026, 11, 22, tzinfo=UTC) + timedelta(hours=hour)
    day = local_date(now, "Asia/Shanghai")
    store = MemoryStorage()
    with store.transaction() as uow:
        for serial in taken:
            customer, events = new_customer(
                DEFAULT.render(day, serial), actor="host", now=now, settings=SETTINGS, name="n"
            )
            uow.save_customer(customer, events)
    made = []
    for _ in range(count):
        with store.transaction() as uow:
            number = allocate_customer_number(uow, DEFAULT, now, "Asia/Shanghai")
            customer, events = new_customer(number, actor="a", now=now, settings=SETTINGS, name="n")
            uow.save_customer(customer, events)
        made.append(number)
    hand_made = {DEFAULT.render(day, s) for s in taken}
    assert len(set(made)) == count
    assert not set(made) & hand_made
    assert all(n.startswith("C" + day.strftime("%Y%m%d")) for n in made)
