"""Duplicate ticket detection (R-TKT-5): is a new ticket a resubmission of an open one?

Two steps, both pure:

1. :func:`duplicate_candidates` picks the tickets worth comparing: the same requester, still
   open (status category new, open or pending), not merged, created within ``[duplicates]
   window`` (default 7 days) before the new one. Another customer's identical text is never a
   candidate.
2. :func:`similarity` scores subject + description of the new ticket against each candidate;
   a score ``>= [duplicates] threshold`` makes it a suspected duplicate (a
   ``DuplicateSuspected`` event on the new ticket; nothing is merged automatically).

The score (0..1), in rules:

1. Both texts are folded (:func:`helpdesk_core.text.fold`): NFKC width, case, traditional ->
   simplified Chinese, punctuation and symbols to spaces.
2. Order numbers (identifiers with at least 5 digits, such as ``SO-2026-0042`` or ``55120``,
   compared without ``-``/``_`` and case) are read from the unfolded text. When both texts name
   order numbers and none is shared, they are different problems: the score is 0.
3. Each text becomes a set of features: character trigrams of every latin word or number
   (``#word#`` padded, so a fixed typo still shares most trigrams) and character bigrams of
   every run of CJK characters (a lone character counts as itself). Sets ignore word order, so
   reordered sentences score like the original.
4. The score is the mean of the Dice coefficient ``2|A∩B| / (|A|+|B|)`` and the overlap
   coefficient ``|A∩B| / min(|A|,|B|)``. Dice penalises what one text adds; overlap forgives a
   resubmission that only adds "urgent!!", a greeting or a signature.

The default threshold 0.80 was chosen on ``benchmarks/data/duplicate_pairs.json`` (51 labelled
pairs, 26 resubmissions, 25 different problems): ``python benchmarks/bench_duplicates.py``
prints precision and recall per threshold; 0.80 is the middle of the range with precision and
recall both 1.0 on that set (docs/customers.md has the table).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

import attrs

from helpdesk_core.config import ConfigContext, HelpdeskConfig, config_keys, table
from helpdesk_core.durations import parse_duration
from helpdesk_core.errors import ConfigError, ValidationError
from helpdesk_core.model.events import DuplicateSuspected
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.text import fold

DEFAULT_WINDOW: Final = timedelta(days=7)
DEFAULT_THRESHOLD: Final = 0.80
OPEN_CATEGORIES: Final = frozenset({"new", "open", "pending"})

_IDENTIFIER: Final = re.compile(r"[a-z0-9][a-z0-9_-]*[a-z0-9]")
_ORDER_DIGITS: Final = 5


MAX_CANDIDATES: Final = 20
"""How many of the requester's newest open tickets a new ticket is compared with."""

MAX_SUSPECTS: Final = 5
"""The most ``DuplicateSuspected`` events one new ticket records (the best scores)."""


@attrs.frozen
class DuplicatesConfig:
    """The validated ``[duplicates]`` section."""

    window: timedelta = DEFAULT_WINDOW
    threshold: float = DEFAULT_THRESHOLD
    enabled: bool = True
    """``false`` for hosts that detect duplicates elsewhere: open_ticket then skips the
    candidate query."""


_KEYS: Final = ("window", "threshold", "enabled")


@config_keys({"duplicates": _KEYS})
def parse_duplicates(value: Any, path: str, context: ConfigContext) -> DuplicatesConfig:
    """``[duplicates] window = "7d"``, ``threshold = 0.8``, ``enabled = true``; errors name
    the key path."""
    section = table(value, path, _KEYS)
    enabled = section.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{path}.enabled", "must be true or false", enabled)
    window = DEFAULT_WINDOW
    if "window" in section:
        try:
            window = parse_duration(section["window"], f"{path}.window")
        except ValidationError as exc:
            raise ConfigError(f"{path}.window", str(exc), section["window"]) from exc
        if window <= timedelta(0):
            raise ConfigError(f"{path}.window", "must be positive", section["window"])
    threshold = section.get("threshold", DEFAULT_THRESHOLD)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ConfigError(f"{path}.threshold", "must be a number between 0 and 1", threshold)
    if not 0 < threshold <= 1:
        raise ConfigError(f"{path}.threshold", "must be above 0 and at most 1", threshold)
    return DuplicatesConfig(window, float(threshold), enabled)


def duplicates_config(config: HelpdeskConfig) -> DuplicatesConfig:
    found = config.sections.get("duplicates")
    return found if isinstance(found, DuplicatesConfig) else DuplicatesConfig()


# -- features -----------------------------------------------------------------------------------
def order_numbers(text: str) -> frozenset[str]:
    """Identifiers with at least 5 digits (order, invoice, tracking numbers), normalised."""
    plain = unicodedata.normalize("NFKC", text).casefold()
    found = set()
    for match in set(_IDENTIFIER.findall(plain)):
        if len(match) >= _ORDER_DIGITS and sum(map(str.isdigit, match)) >= _ORDER_DIGITS:
            found.add(match.replace("-", "").replace("_", ""))
    return frozenset(found)


_CJK: Final = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN: Final = re.compile(f"([{_CJK}]+)|([^\\s{_CJK}]+)")
"""A run of CJK characters (the ranges of :func:`helpdesk_core.text.is_cjk`) or of other
characters but white space: a folded text's words cut where they go from CJK to other
characters and back."""


def features(text: str) -> frozenset[str]:
    """The feature set of rule 3: latin trigrams and CJK bigrams of the folded text."""
    found: set[str] = set()
    # each distinct run once: a set does not count repeats (quoted replies repeat a lot)
    for cjk, other in set(_RUN.findall(fold(text))):
        if cjk:
            if len(cjk) == 1:
                found.add(cjk)
            found.update([cjk[i : i + 2] for i in range(len(cjk) - 1)])
        else:
            padded = f"#{other}#"
            found.update([padded[i : i + 3] for i in range(len(padded) - 2)])
    return frozenset(found)


@attrs.frozen
class TextFeatures:
    """A text's order numbers and feature set, computed once per text."""

    orders: frozenset[str]
    grams: frozenset[str]

    @classmethod
    def of(cls, text: str) -> TextFeatures:
        return cls(order_numbers(text), features(text))


FEATURE_MEMO_GRAMS: Final = 200_000
"""How many features (over all texts) a :class:`FeatureMemo` keeps at most."""
FEATURE_MEMO_TEXTS: Final = 512
"""How many texts a :class:`FeatureMemo` keeps at most."""


class FeatureMemo:
    """:meth:`TextFeatures.of` remembered for the texts seen last: one per desk (the runner
    holds it), so the requester's open tickets a new ticket is compared with are not folded
    again on every ticket they open. A memo of a pure function of the text: a hit returns
    exactly what computing again would; bounded by :data:`FEATURE_MEMO_TEXTS` texts and
    :data:`FEATURE_MEMO_GRAMS` features, the oldest forgotten first. Safe across threads."""

    def __init__(self, texts: int = FEATURE_MEMO_TEXTS, grams: int = FEATURE_MEMO_GRAMS) -> None:
        self.texts, self.grams = texts, grams
        self._memo: OrderedDict[str, TextFeatures] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def __call__(self, text: str) -> TextFeatures:
        with self._lock:
            found = self._memo.get(text)
            if found is not None:
                self._memo.move_to_end(text)
                return found
        found = TextFeatures.of(text)
        size = len(found.grams) + 1
        if size > self.grams:
            return found
        with self._lock:
            if text not in self._memo:
                self._memo[text] = found
                self._held += size
                while len(self._memo) > self.texts or self._held > self.grams:
                    _, dropped = self._memo.popitem(last=False)
                    self._held -= len(dropped.grams) + 1
        return found

    def __len__(self) -> int:
        return len(self._memo)


def similarity(a: str, b: str) -> float:
    """How alike two ticket texts are, 0..1 (rules 1-4 of the module doc)."""
    return feature_similarity(TextFeatures.of(a), TextFeatures.of(b))


def feature_similarity(a: TextFeatures, b: TextFeatures) -> float:
    """:func:`similarity` of two texts whose features are computed already."""
    if a.orders and b.orders and a.orders.isdisjoint(b.orders):
        return 0.0
    fa, fb = a.grams, b.grams
    if not fa or not fb:
        return 0.0
    shared = len(fa & fb)
    dice = 2 * shared / (len(fa) + len(fb))
    overlap = shared / min(len(fa), len(fb))
    return (dice + overlap) / 2


def ticket_text(subject: str, description: str) -> str:
    """The text compared for a ticket: subject and description."""
    return f"{subject}\n{description}"


# -- candidates and verdicts ----------------------------------------------------------------------
def duplicate_candidates(
    requester: str | None,
    now: datetime,
    tickets: Iterable[Ticket],
    window: timedelta = DEFAULT_WINDOW,
    *,
    exclude: str | None = None,
) -> list[Ticket]:
    """The tickets a new ticket of ``requester`` opened at ``now`` is compared with: same
    requester, open category, not merged, created in ``[now - window, now]``; oldest first."""
    if requester is None:
        return []
    since = now - window
    found = [
        t
        for t in tickets
        if t.requester == requester
        and t.id != exclude
        and t.status_category in OPEN_CATEGORIES
        and t.merged_into is None
        and since <= t.created_at <= now
    ]
    return sorted(found, key=lambda t: (t.created_at, t.id))


@attrs.frozen
class Suspect:
    """An open ticket the new one is probably a resubmission of."""

    ticket_id: str
    score: float


def suspected_duplicates(
    subject: str,
    description: str,
    candidates: Iterable[Ticket],
    threshold: float = DEFAULT_THRESHOLD,
    features_of: Callable[[str], TextFeatures] = TextFeatures.of,
) -> list[Suspect]:
    """The candidates whose text scores ``>= threshold``, best first (ties by id);
    ``features_of`` reads a text's features (a desk passes its :class:`FeatureMemo`)."""
    mine = features_of(ticket_text(subject, description))
    found = []
    for ticket in candidates:
        theirs = features_of(ticket_text(ticket.subject, ticket.description))
        score = feature_similarity(mine, theirs)
        if score >= threshold:
            found.append(Suspect(ticket.id, round(score, 4)))
    return sorted(found, key=lambda s: (-s.score, s.ticket_id))


def duplicate_events(
    ticket: Ticket,
    candidates: Iterable[Ticket],
    settings: DuplicatesConfig,
    actor: str,
    features_of: Callable[[str], TextFeatures] = TextFeatures.of,
) -> list[DuplicateSuspected]:
    """The ``DuplicateSuspected`` events to append to a just-opened ``ticket`` (seq after its
    version), one per suspected open ticket, best score first. ``candidates`` may hold more
    than the rules allow: :func:`duplicate_candidates` filters them."""
    chosen = duplicate_candidates(
        ticket.requester, ticket.created_at, candidates, settings.window, exclude=ticket.id
    )
    suspects = suspected_duplicates(
        ticket.subject, ticket.description, chosen, settings.threshold, features_of
    )
    return [
        DuplicateSuspected(
            ticket_id=ticket.id,
            seq=ticket.version + 1 + i,
            at=ticket.updated_at,
            actor=actor,
            other=suspect.ticket_id,
            score=suspect.score,
        )
        for i, suspect in enumerate(suspects)
    ]


class TicketReader(Protocol):
    def requester_tickets(self, requester: str, since: datetime, limit: int) -> list[Ticket]: ...


def find_duplicates_in(
    uow: TicketReader,
    ticket: Ticket,
    settings: DuplicatesConfig,
    actor: str = "system",
    features_of: Callable[[str], TextFeatures] = TextFeatures.of,
) -> list[DuplicateSuspected]:
    """:func:`duplicate_events` for ``ticket`` with the candidates loaded from storage (only
    the requester's open tickets in the window are read)."""
    if ticket.requester is None or not settings.enabled:
        return []
    # the requester's newest open tickets only: a busy integration account with thousands of
    # open tickets must not make every new ticket compare against all of them
    since = ticket.created_at - settings.window
    candidates = uow.requester_tickets(ticket.requester, since, MAX_CANDIDATES)
    return duplicate_events(ticket, candidates, settings, actor, features_of)[:MAX_SUSPECTS]
