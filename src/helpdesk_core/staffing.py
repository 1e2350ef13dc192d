"""Erlang C staffing: how many agents a queue needs to answer in time (R-OPS-1).

The model (M/M/n, calls wait, nobody hangs up): calls arrive at random at ``calls_per_hour``,
each takes ``handle_seconds`` on average, ``n`` agents answer them first come first served.

- Offered load ``A = calls_per_hour * handle_seconds / 3600`` Erlangs.
- Erlang B by the recurrence ``B(0) = 1``, ``B(k) = A B(k-1) / (k + A B(k-1))``: every term stays
  in ``[0, 1]``, so there are no factorials and no overflow at hundreds or thousands of Erlangs.
- Erlang C (probability that a call waits) from B: ``C = n B / (n - A (1 - B))`` for ``n > A``;
  with ``n <= A`` the queue grows without end and C is 1.
- Service level (share answered within ``t`` seconds): ``1 - C exp(-(n - A) t / h)``.
- Average speed of answer (ASA): ``C h / (n - A)`` seconds.

:func:`erlang_c_agents` is the smallest ``n`` whose service level reaches the target. Worked
example (100 calls in 30 minutes, 180 s handle time, 80 % within 20 s): 10 Erlangs; 13 agents
answer 79.6 % in time, 14 agents 88.8 %, so 14.
"""

from __future__ import annotations

import math
from typing import Final

from helpdesk_core.errors import ValidationError

__all__ = [
    "average_speed_of_answer",
    "erlang_b",
    "erlang_c_agents",
    "offered_load",
    "service_level",
    "wait_probability",
]

SECONDS_PER_HOUR: Final = 3600.0


def _number(name: str, value: object, *, positive: bool = False) -> float:
    """A finite real number >= 0 (> 0 with ``positive``), or ValidationError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(name, f"must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValidationError(name, f"must be finite, got {value!r}")
    if number < 0 or (positive and number == 0):
        raise ValidationError(name, f"must be {'> 0' if positive else '>= 0'}, got {value!r}")
    return number


def _agents(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("agents", f"must be a whole number, got {value!r}")
    if value < 0:
        raise ValidationError("agents", f"must be >= 0, got {value!r}")
    return value


def offered_load(calls_per_hour: float, handle_seconds: float) -> float:
    """The traffic in Erlangs: calls per hour times handle time in hours."""
    rate = _number("calls_per_hour", calls_per_hour)
    handle = _number("handle_seconds", handle_seconds, positive=True)
    return rate * handle / SECONDS_PER_HOUR


def erlang_b(agents: int, erlangs: float) -> float:
    """Blocking probability of ``agents`` servers under ``erlangs`` of load (the recurrence)."""
    n = _agents(agents)
    load = _number("erlangs", erlangs)
    b = 1.0
    for k in range(1, n + 1):
        b = load * b / (k + load * b)
    return b


def _erlang_c_from_b(n: int, load: float, b: float) -> float:
    if n <= load:
        return 1.0
    return n * b / (n - load * (1.0 - b))


def wait_probability(agents: int, erlangs: float) -> float:
    """Erlang C: the probability a call waits at all (1 when ``agents <= erlangs``)."""
    n = _agents(agents)
    load = _number("erlangs", erlangs)
    if load == 0:
        return 0.0
    return _erlang_c_from_b(n, load, erlang_b(n, load))


def _service_level(n: int, load: float, c: float, handle: float, within: float) -> float:
    if load == 0:
        return 1.0
    if n <= load:
        return 0.0
    return max(0.0, 1.0 - c * math.exp(-(n - load) * within / handle))


def service_level(
    agents: int, calls_per_hour: float, handle_seconds: float, *, answer_within_seconds: float
) -> float:
    """Share of calls answered within ``answer_within_seconds`` with ``agents`` agents
    (0 when the agents cannot keep up with the load)."""
    load = offered_load(calls_per_hour, handle_seconds)
    within = _number("answer_within_seconds", answer_within_seconds)
    n = _agents(agents)
    return _service_level(n, load, wait_probability(n, load), float(handle_seconds), within)


def average_speed_of_answer(agents: int, calls_per_hour: float, handle_seconds: float) -> float:
    """Mean wait before an answer, in seconds (``inf`` when the agents cannot keep up)."""
    load = offered_load(calls_per_hour, handle_seconds)
    n = _agents(agents)
    if load == 0:
        return 0.0
    if n <= load:
        return math.inf
    return wait_probability(n, load) * float(handle_seconds) / (n - load)


def erlang_c_agents(
    calls_per_hour: float,
    handle_seconds: float,
    *,
    answer_within_seconds: float,
    service_level: float,
) -> int:
    """The fewest agents that answer ``service_level`` (a share in (0, 1)) of the calls within
    ``answer_within_seconds``; 0 when no calls come. Linear in the answer: one Erlang B step per
    candidate, so 1,000 Erlangs cost about 1,000 steps."""
    load = offered_load(calls_per_hour, handle_seconds)
    handle = float(handle_seconds)
    within = _number("answer_within_seconds", answer_within_seconds)
    target = _number("service_level", service_level)
    if not 0 < target < 1:
        raise ValidationError("service_level", f"must be a share in (0, 1), got {service_level!r}")
    if load == 0:
        return 0
    b, n = 1.0, 0
    while True:
        n += 1
        b = load * b / (n + load * b)
        if n > load:
            c = _erlang_c_from_b(n, load, b)
            if _service_level(n, load, c, handle, within) >= target:
                return n
