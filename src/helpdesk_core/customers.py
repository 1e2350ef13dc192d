"""Customer rules (R-CUS-1..5): the ``[customers]`` config, profile decisions, tier rules,
``customer.*`` facts as of an instant, and masking on output.

Every function here is pure: it takes the current state and ``now`` and returns the new state
and the events that explain it. :mod:`helpdesk_core.customer_commands` runs them on a unit of
work; the facade's customer commands call those.

Config (``[customers]``)::

    [customers]
    tiers = ["normal", "vip", "strategic"]          # lowest first; rules only raise
    number_pattern = "C{date}{serial:3}"            # see helpdesk_core.customer_numbers
    tag_types = {segment = ["enterprise", "smb"], behaviour = []}

    [[customers.tier_rules]]
    when = {"fact.spend" = {gte = 10000}}
    tier = "vip"
    reason = "tier raised to vip after purchase"              # optional

A tier rule's ``when`` is a condition over ``fact.<name>`` (the latest reported value of each
fact) and the profile's ``tier``, ``tags``, ``organisation``, ``industry`` and ``kind``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import attrs

from helpdesk_core import validation
from helpdesk_core.conditions import Condition, ConditionRegistry, compile_condition
from helpdesk_core.config import ConfigContext, HelpdeskConfig, config_keys, table
from helpdesk_core.customer_numbers import DEFAULT_NUMBER_PATTERN, NumberPattern
from helpdesk_core.errors import ConfigError, ValidationError
from helpdesk_core.model.customers import (
    CUSTOMER_EDITABLE_FIELDS,
    CUSTOMER_KINDS,
    DEFAULT_TIERS,
    Customer,
    CustomerCreated,
    CustomerEvent,
    CustomerUpdated,
    FactRecorded,
    TierChanged,
    customer_subject,
    email_key,
    phone_key,
)
from helpdesk_core.model.events import to_utc
from helpdesk_core.permissions import mask_email, mask_mobile

_NAME: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOURS: Final = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$")


# -- config -------------------------------------------------------------------------------------
@attrs.frozen
class TierRule:
    """Raise the tier to ``tier`` when ``when`` holds over the profile and its facts."""

    id: str
    when: Condition
    tier: str
    reason: str | None = None


@attrs.frozen
class CustomersConfig:
    """The validated ``[customers]`` section."""

    tiers: tuple[str, ...] = DEFAULT_TIERS
    number_pattern: NumberPattern = attrs.field(
        factory=lambda: NumberPattern.parse(DEFAULT_NUMBER_PATTERN)
    )
    tier_rules: tuple[TierRule, ...] = ()
    tag_types: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    """Tag type -> allowed names (empty: any name) for tags written ``type:name``."""

    def rank(self, tier: str) -> int:
        return self.tiers.index(tier)


def rule_registry() -> ConditionRegistry:
    """The fields a tier rule may read."""
    registry = ConditionRegistry()
    registry.add_field("fact.*")
    for name in ("tier", "tags", "organisation", "industry", "kind"):
        registry.add_field(name)
    return registry


_KEYS: Final = ("tiers", "number_pattern", "tier_rules", "tag_types")
_TIER_RULE_KEYS: Final = ("id", "when", "tier", "reason")


@config_keys({"customers": _KEYS, "customers.tier_rules[]": _TIER_RULE_KEYS})
def parse_customers(value: Any, path: str, context: ConfigContext) -> CustomersConfig:
    """Validate ``[customers]``; errors name the key path (``customers.tier_rules[0].tier``)."""
    section = table(value, path, _KEYS)
    tiers = DEFAULT_TIERS
    if "tiers" in section:
        items = section["tiers"]
        if isinstance(items, str) or not isinstance(items, Sequence) or not items:
            raise ConfigError(f"{path}.tiers", "must be a non-empty list of tier names", items)
        for i, item in enumerate(items):
            if not isinstance(item, str) or not _NAME.match(item):
                raise ConfigError(f"{path}.tiers[{i}]", "must be a lowercase name like 'vip'", item)
        if len(set(items)) != len(items):
            raise ConfigError(f"{path}.tiers", "has duplicates", items)
        tiers = tuple(items)
    pattern = NumberPattern.parse(
        section.get("number_pattern", DEFAULT_NUMBER_PATTERN), f"{path}.number_pattern"
    )
    tag_types: dict[str, tuple[str, ...]] = {}
    raw_types = section.get("tag_types", {})
    if not isinstance(raw_types, Mapping):
        raise ConfigError(f"{path}.tag_types", "must be a table of type = [names]", raw_types)
    for name, names in raw_types.items():
        tpath = f"{path}.tag_types.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(tpath, "tag type names are lowercase like 'segment'", name)
        if isinstance(names, str) or not isinstance(names, Sequence):
            raise ConfigError(tpath, "must be a list of tag names (empty: any)", names)
        if not all(isinstance(n, str) and n.strip() for n in names):
            raise ConfigError(tpath, "tag names must be non-empty strings", names)
        tag_types[name] = tuple(names)
    rules: list[TierRule] = []
    raw_rules = section.get("tier_rules", [])
    if isinstance(raw_rules, str) or not isinstance(raw_rules, Sequence):
        raise ConfigError(f"{path}.tier_rules", "must be a list of {when, tier} tables", raw_rules)
    for i, item in enumerate(raw_rules):
        rpath = f"{path}.tier_rules[{i}]"
        rule = table(item, rpath, _TIER_RULE_KEYS, "must be a {when, tier} table")
        if "when" not in rule:
            raise ConfigError(f"{rpath}.when", "is required")
        tier = rule.get("tier")
        if tier not in tiers:
            raise ConfigError(f"{rpath}.tier", f"must be one of {list(tiers)}", tier)
        reason = rule.get("reason")
        if reason is not None and (not isinstance(reason, str) or not reason.strip()):
            raise ConfigError(f"{rpath}.reason", "must be a non-empty string", reason)
        rule_id = rule.get("id", f"tier_rules[{i}]")
        if not isinstance(rule_id, str) or not rule_id:
            raise ConfigError(f"{rpath}.id", "must be a non-empty string", rule_id)
        when = compile_condition(rule["when"], f"{rpath}.when", rule_registry())
        rules.append(TierRule(rule_id, when, str(tier), reason))
    return CustomersConfig(tiers, pattern, tuple(rules), tag_types)


def customers_config(config: HelpdeskConfig) -> CustomersConfig:
    """The desk's ``[customers]`` settings (the defaults when the section is absent)."""
    found = config.sections.get("customers")
    return found if isinstance(found, CustomersConfig) else CustomersConfig()


# -- validation at the door ---------------------------------------------------------------------
def _text(value: Any, field: str, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, f"must be a non-empty string, got {value!r:.60}")
    return validation.text(value, field, limit=validation.MAX_LINE).strip()


def _list(value: Any, field: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(field, f"must be a list of strings, got {value!r:.60}")
    items = tuple(value)
    if len(items) > validation.MAX_NAMES:
        raise ValidationError(field, f"has {len(items)} items; at most {validation.MAX_NAMES}")
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise ValidationError(field, f"must be a list of strings, got {value!r:.60}")
        validation.text(item, f"{field}[{i}]", limit=validation.MAX_LINE, required=False)
    return items


def check_emails(value: Any) -> tuple[str, ...]:
    emails = tuple(e.strip() for e in _list(value, "emails"))
    for i, email in enumerate(emails):
        if not _EMAIL.match(email):
            raise ValidationError(f"emails[{i}]", f"is not an email address: {email!r}")
    keys = [email_key(e) for e in emails]
    if len(set(keys)) != len(keys):
        raise ValidationError("emails", "lists the same address twice")
    return emails


def check_phones(value: Any) -> tuple[str, ...]:
    phones = tuple(p.strip() for p in _list(value, "phones"))
    for i, phone in enumerate(phones):
        digits = sum(ch.isdigit() for ch in phone)
        if digits < 5 or digits > 15 or not re.fullmatch(r"[+0-9 ()\-.]+", phone):
            raise ValidationError(f"phones[{i}]", f"is not a phone number: {phone!r}")
    keys = [phone_key(p) for p in phones]
    if len(set(keys)) != len(keys):
        raise ValidationError("phones", "lists the same number twice")
    return phones


def check_tags(value: Any, settings: CustomersConfig) -> frozenset[str]:
    """Tags as a set; a ``type:name`` tag needs a declared type (and an allowed name)."""
    tags = _list(value, "tags")
    for i, tag in enumerate(tags):
        if not tag.strip():
            raise ValidationError(f"tags[{i}]", "must be a non-empty string")
        kind, colon, name = tag.partition(":")
        if not colon:
            continue
        if kind not in settings.tag_types:
            raise ValidationError(
                f"tags[{i}]",
                f"unknown tag type {kind!r}; declare it in [customers] tag_types "
                f"(known: {sorted(settings.tag_types)})",
            )
        allowed = settings.tag_types[kind]
        if allowed and name not in allowed:
            raise ValidationError(f"tags[{i}]", f"{kind} tags are {list(allowed)}, got {name!r}")
    return frozenset(tags)


def check_tier(value: Any, settings: CustomersConfig) -> str:
    if value not in settings.tiers:
        raise ValidationError("tier", f"must be one of {list(settings.tiers)}, got {value!r}")
    return str(value)


def check_kind(value: Any) -> str:
    if value not in CUSTOMER_KINDS:
        raise ValidationError("kind", f"must be one of {list(CUSTOMER_KINDS)}, got {value!r}")
    return str(value)


def check_contact_hours(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _HOURS.match(value.strip()):
        raise ValidationError("contact_hours", f"must look like '09:00-18:00', got {value!r}")
    return value.strip()


def _checked(name: str, value: Any, settings: CustomersConfig) -> Any:
    if name == "name":
        return _text(value, "name", required=True)
    if name == "kind":
        return check_kind(value)
    if name == "emails":
        return check_emails(value)
    if name == "phones":
        return check_phones(value)
    if name == "tags":
        return check_tags(value, settings)
    if name == "contact_hours":
        return check_contact_hours(value)
    return _text(value, name)  # organisation, industry, preferred_channel


# -- decisions ----------------------------------------------------------------------------------
Decided = tuple[Customer, list[CustomerEvent]]


def new_customer(
    customer_id: str,
    *,
    actor: str,
    now: datetime,
    settings: CustomersConfig,
    name: str,
    kind: str = "individual",
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    organisation: str | None = None,
    industry: str | None = None,
    tier: str = "normal",
    tags: Iterable[str] = (),
    preferred_channel: str | None = None,
    contact_hours: str | None = None,
) -> Decided:
    """A new profile (R-CUS-1), validated: ValidationError names the bad parameter."""
    created = CustomerCreated(
        customer_id=customer_id,
        seq=1,
        at=to_utc(now),
        actor=actor,
        kind_of=check_kind(kind),
        name=_checked("name", name, settings),
        emails=check_emails(emails),
        phones=check_phones(phones),
        organisation=_text(organisation, "organisation"),
        industry=_text(industry, "industry"),
        tier=check_tier(tier, settings),
        preferred_channel=_text(preferred_channel, "preferred_channel"),
        contact_hours=check_contact_hours(contact_hours),
        tags=check_tags(tags, settings),
    )
    return Customer.created(created), [created]


def _stored(name: str, value: Any) -> Any:
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def change_customer(
    customer: Customer,
    changes: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
    settings: CustomersConfig,
    reason: str | None = None,
) -> Decided:
    """Apply profile ``changes`` (fields of ``CUSTOMER_EDITABLE_FIELDS`` and ``tier``).

    Unchanged values produce no event; changed fields give one :class:`CustomerUpdated` with
    their before/after values; a tier change gives a :class:`TierChanged` whose reason is
    ``reason`` or "tier raised/lowered to X by <actor>" (R-CUS-3).
    """
    if customer.merged_into is not None:
        raise ValidationError(
            "customer_id", f"{customer.id} was merged into {customer.merged_into}; edit that one"
        )
    unknown = set(changes) - set(CUSTOMER_EDITABLE_FIELDS) - {"tier"}
    if unknown:
        raise ValidationError(
            sorted(unknown)[0],
            f"is not a customer field you can change; use one of "
            f"{[*CUSTOMER_EDITABLE_FIELDS, 'tier']}",
        )
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in CUSTOMER_EDITABLE_FIELDS:
        if name not in changes:
            continue
        value = _checked(name, changes[name], settings)
        current = getattr(customer, name)
        if value != current:
            before[name] = _stored(name, current)
            after[name] = _stored(name, value)
    events: list[CustomerEvent] = []
    at = to_utc(now)
    if after:
        events.append(
            CustomerUpdated(
                customer_id=customer.id,
                seq=customer.version + 1,
                at=at,
                actor=actor,
                before=before,
                after=after,
            )
        )
    if "tier" in changes:
        tier = check_tier(changes["tier"], settings)
        if tier != customer.tier:
            events.append(
                TierChanged(
                    customer_id=customer.id,
                    seq=customer.version + 1 + len(events),
                    at=at,
                    actor=actor,
                    from_tier=customer.tier,
                    to_tier=tier,
                    reason=reason or tier_reason(customer.tier, tier, settings, f"by {actor}"),
                )
            )
    for event in events:
        customer = customer.apply(event)
    return customer, events


def tier_reason(before: str, after: str, settings: CustomersConfig, cause: str) -> str:
    """ "tier raised to vip after purchase" / "tier lowered to normal by a-17"."""
    known = before in settings.tiers and after in settings.tiers
    moved = "raised" if not known or settings.rank(after) > settings.rank(before) else "lowered"
    return f"tier {moved} to {after} {cause}"


def rule_subject(customer: Customer) -> dict[str, Any]:
    """What a tier rule's condition reads: the profile fields and ``fact.<name>``."""
    subject: dict[str, Any] = dict(customer_subject(customer))
    for name, value in customer.facts.items():
        subject[f"fact.{name}"] = value
    return subject


def tier_from_rules(customer: Customer, settings: CustomersConfig) -> TierRule | None:
    """The rule giving the highest tier above the current one, if any holds (first wins on a
    tie). Rules only raise: a lower tier is an agent's decision."""
    subject = rule_subject(customer)
    best: TierRule | None = None
    for rule in settings.tier_rules:
        if not rule.when.matches(subject):
            continue
        if customer.tier in settings.tiers and settings.rank(rule.tier) <= settings.rank(
            customer.tier
        ):
            continue
        if best is None or settings.rank(rule.tier) > settings.rank(best.tier):
            best = rule
    return best


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def record_fact(
    customer: Customer,
    name: str,
    value: Any,
    *,
    actor: str,
    now: datetime,
    settings: CustomersConfig,
) -> Decided:
    """Record a fact the host reports (a purchase, the total spend) and apply the tier rules:
    :class:`FactRecorded`, then a :class:`TierChanged` when a rule raises the tier."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValidationError("name", f"fact names are lowercase like 'spend', got {name!r}")
    if value is not None and not isinstance(value, str | int | float | bool):
        raise ValidationError("value", f"must be text, a number or true/false, got {value!r}")
    if customer.merged_into is not None:
        raise ValidationError(
            "customer_id", f"{customer.id} was merged into {customer.merged_into}"
        )
    at = to_utc(now)
    fact = FactRecorded(
        customer_id=customer.id,
        seq=customer.version + 1,
        at=at,
        actor=actor,
        name=name,
        value=value,
    )
    customer = customer.apply(fact)
    events: list[CustomerEvent] = [fact]
    rule = tier_from_rules(customer, settings)
    if rule is not None:
        change = TierChanged(
            customer_id=customer.id,
            seq=customer.version + 1,
            at=at,
            actor=actor,
            from_tier=customer.tier,
            to_tier=rule.tier,
            reason=rule.reason
            or tier_reason(customer.tier, rule.tier, settings, f"after {name} {_shown(value)}"),
            rule=rule.id,
        )
        customer = customer.apply(change)
        events.append(change)
    return customer, events


# -- customer.* facts as of an instant ------------------------------------------------------------
def customer_as_of(
    events: Iterable[CustomerEvent], at: datetime | None = None, seq: int | None = None
) -> Customer | None:
    """The profile as it was at instant ``at`` (events at or before it) and/or after event
    ``seq``; None when it did not exist yet."""
    limit = None if at is None else to_utc(at)
    kept = [e for e in events if (limit is None or e.at <= limit) and (seq is None or e.seq <= seq)]
    return Customer.from_events(kept) if kept else None


def customer_facts(
    events: Iterable[CustomerEvent], at: datetime | None = None, seq: int | None = None
) -> dict[str, Any]:
    """The ``customer.*`` condition fields (tier, tags, organisation, industry, kind) as of
    ``at``/``seq``: pass the result as :func:`~helpdesk_core.model.tickets.ticket_subject`'s
    ``customer`` to decide routing, SLA selection, escalation or a permission as of the event
    being decided. Empty when the customer had no profile yet."""
    return customer_subject(customer_as_of(events, at, seq))


# -- output (R-CUS-2) -------------------------------------------------------------------------
def present_customer(customer: Customer, may_view_contact: bool) -> Customer:
    """The profile as an actor may see it: contacts masked with ``mask_email`` /
    ``mask_mobile`` unless the actor holds ``customer.view_contact`` (R-CUS-2)."""
    if may_view_contact:
        return customer
    return attrs.evolve(
        customer,
        emails=tuple(mask_email(e) for e in customer.emails),
        phones=tuple(mask_mobile(p) for p in customer.phones),
    )


def present_customer_event(event: CustomerEvent, may_view_contact: bool) -> CustomerEvent:
    """A history entry as an actor may see it: contact values masked like the profile."""
    if may_view_contact:
        return event
    masks = {"emails": mask_email, "phones": mask_mobile}
    changes: dict[str, Any] = {}
    for name, mask in masks.items():
        if hasattr(event, name):
            changes[name] = tuple(mask(v) for v in getattr(event, name))
    if isinstance(event, CustomerUpdated):
        for side in ("before", "after"):
            values = dict(getattr(event, side))
            for name, mask in masks.items():
                if name in values:
                    values[name] = [mask(v) for v in values[name]]
            changes[side] = values
    return attrs.evolve(event, **changes) if changes else event
