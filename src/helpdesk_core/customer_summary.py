"""The one-paragraph customer profile (R-CUS-4), in English or simplified Chinese.

Plainly templated from the profile (tier, kind, organisation, tags) and :class:`TicketStats`, a
count of the customer's tickets the reader may view; no text is generated beyond the templates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

import attrs

from helpdesk_core.errors import ValidationError
from helpdesk_core.model.customers import Customer
from helpdesk_core.model.tickets import Ticket

LOCALES: Final = ("en", "zh-CN")
OPEN_CATEGORIES: Final = frozenset({"new", "open", "pending"})

_ZH_TIERS: Final = {"normal": "普通", "vip": "VIP", "strategic": "战略"}
_ZH_KINDS: Final = {"individual": "个人", "company": "企业"}
_ZH_TYPES: Final = {
    "consultation": "咨询",
    "complaint": "投诉",
    "after_sales": "售后",
    "technical_support": "技术支持",
}


@attrs.frozen
class TicketStats:
    """What the summary says about a customer's service history."""

    total: int = 0
    open: int = 0
    solved: int = 0
    reopened: int = 0
    types: tuple[tuple[str, int], ...] = ()
    """Ticket types with their counts, most frequent first (ties by name)."""
    last_contact: datetime | None = None

    @classmethod
    def of(cls, tickets: Iterable[Ticket]) -> TicketStats:
        rows = list(tickets)
        if not rows:
            return cls()
        types = Counter(t.type for t in rows)
        return cls(
            total=len(rows),
            open=sum(t.status_category in OPEN_CATEGORIES for t in rows),
            solved=sum(t.status_category in ("solved", "closed") for t in rows),
            reopened=sum(t.reopen_count > 0 for t in rows),
            types=tuple(sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))),
            last_contact=max(t.updated_at for t in rows),
        )


def _day(value: datetime, timezone: str) -> str:
    return value.astimezone(ZoneInfo(timezone)).date().isoformat()


def _tags_en(tags: Iterable[str]) -> str:
    return ", ".join(sorted(tags))


def customer_summary(
    customer: Customer,
    stats: TicketStats,
    *,
    locale: str = "en",
    timezone: str = "UTC",
    type_labels: Mapping[str, str] | None = None,
) -> str:
    """One paragraph about ``customer``: who, tier, tags, service history (R-CUS-4)."""
    if locale not in LOCALES:
        raise ValidationError("locale", f"must be one of {list(LOCALES)}, got {locale!r}")
    since = _day(customer.created_at, timezone)
    if locale == "en":
        return _english(customer, stats, since, timezone, type_labels or {})
    return _chinese(customer, stats, since, timezone, type_labels or {})


def _english(
    customer: Customer,
    stats: TicketStats,
    since: str,
    timezone: str,
    labels: Mapping[str, str],
) -> str:
    tier = "VIP" if customer.tier == "vip" else customer.tier
    article = "an" if tier[:1].lower() in "aeiou" else "a"
    who = f"{customer.name} ({customer.id}) is {article} {tier} {customer.kind} customer"
    if customer.organisation:
        who += f" at {customer.organisation}"
    if customer.industry:
        who += f" in {customer.industry}"
    parts = [f"{who}, on record since {since}."]
    if customer.tags:
        parts.append(f"Tags: {_tags_en(customer.tags)}.")
    if stats.total == 0:
        parts.append("No tickets so far.")
    else:
        noun = "ticket" if stats.total == 1 else "tickets"
        history = (
            f"Service history: {stats.total} {noun} ({stats.open} open, {stats.solved} solved)"
        )
        if stats.types:
            top, count = stats.types[0]
            history += f", mostly {labels.get(top, top.replace('_', ' '))} ({count})"
        if stats.last_contact is not None:
            history += f"; last contact on {_day(stats.last_contact, timezone)}"
        parts.append(history + ".")
        if stats.reopened:
            noun = "ticket was" if stats.reopened == 1 else "tickets were"
            parts.append(f"{stats.reopened} {noun} reopened.")
    if customer.merged_into:
        parts.append(f"Merged into {customer.merged_into}.")
    return " ".join(parts)


def _chinese(
    customer: Customer,
    stats: TicketStats,
    since: str,
    timezone: str,
    labels: Mapping[str, str],
) -> str:
    tier = _ZH_TIERS.get(customer.tier, customer.tier)
    kind = _ZH_KINDS.get(customer.kind, customer.kind)
    who = f"{customer.name}（{customer.id}）是{tier}{kind}客户"
    if customer.organisation:
        who += f"，所属{customer.organisation}"
    if customer.industry:
        who += f"，行业为{customer.industry}"
    parts = [f"{who}，自{since}起建档。"]
    if customer.tags:
        parts.append(f"标签：{'、'.join(sorted(customer.tags))}。")
    if stats.total == 0:
        parts.append("暂无工单。")
    else:
        history = f"服务记录：共{stats.total}张工单（处理中{stats.open}张，已解决{stats.solved}张）"
        if stats.types:
            top, count = stats.types[0]
            history += f"，以{labels.get(top, _ZH_TYPES.get(top, top))}为主（{count}张）"
        if stats.last_contact is not None:
            history += f"，最近一次联系在{_day(stats.last_contact, timezone)}"
        parts.append(history + "。")
        if stats.reopened:
            parts.append(f"其中{stats.reopened}张工单曾被重新打开。")
    if customer.merged_into:
        parts.append(f"已合并至{customer.merged_into}。")
    return "".join(parts)
