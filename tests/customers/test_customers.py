"""Customer profiles, events, config, tier rules, facts as of an event, masking and the summary
(issue 20: R-CUS-1..5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_core import Customer, load_config
from helpdesk_core.conditions import compile_condition
from helpdesk_core.customer_summary import TicketStats, customer_summary
from helpdesk_core.customers import (
    CustomersConfig,
    change_customer,
    customer_as_of,
    customer_facts,
    customers_config,
    new_customer,
    present_customer,
    present_customer_event,
    record_fact,
)
from helpdesk_core.errors import ConditionError, ConfigError, ValidationError
from helpdesk_core.model.customers import (
    CustomerUpdated,
    customer_event_from_dict,
    customer_event_to_dict,
    customer_from_dict,
    customer_subject,
    customer_to_dict,
    email_key,
    phone_key,
)
from helpdesk_core.model.events import TicketCreated
from helpdesk_core.model.tickets import Ticket, ticket_subject

T0 = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
RULES = load_config(
    {
        "customers": {
            "tag_types": {"segment": ["enterprise", "smb"], "behaviour": []},
            "tier_rules": [
                {"id": "big-spender", "when": {"fact.spend": {"gte": 10000}}, "tier": "vip"},
                {
                    "id": "strategic-account",
                    "when": {"fact.spend": {"gte": 500000}, "kind": "company"},
                    "tier": "strategic",
                    "reason": "tier raised to strategic after the framework contract",
                },
            ],
        }
    }
).sections["customers"]


def make(**fields: Any) -> Customer:
    fields.setdefault("name", "Li Wei")
    customer, _ = new_customer("C20261122001", actor="a1", now=T0, settings=RULES, **fields)
    return customer


# -- R-CUS-1: the profile ------------------------------------------------------------------------
def test_r_cus_1_profile_on_first_contact_has_every_field() -> None:
    customer = make(
        kind="company",
        emails=["ops@acme.example", "boss@acme.example"],
        phones=["13812345678", "+86 10 8888 6666"],
        organisation="Acme",
        industry="retail",
        tier="vip",
        tags=["frequent buyer", "segment:enterprise"],
        preferred_channel="email",
        contact_hours="09:00-18:00",
    )
    assert customer.id == customer.number == "C20261122001"
    assert customer.kind == "company" and customer.version == 1
    assert customer.preferred_email == "ops@acme.example"
    assert customer.preferred_phone == "13812345678"
    assert customer.tags == {"frequent buyer", "segment:enterprise"}
    assert customer_from_dict(customer_to_dict(customer)) == customer


@pytest.mark.parametrize(
    ("fields", "parameter"),
    [
        ({"name": " "}, "name"),
        ({"kind": "person"}, "kind"),
        ({"emails": ["not-an-email"]}, "emails[0]"),
        ({"emails": "a@b.example"}, "emails"),
        ({"emails": ["A@b.example", "a@B.example"]}, "emails"),
        ({"phones": ["12"]}, "phones[0]"),
        ({"tier": "gold"}, "tier"),
        ({"tags": ["segment:giant"]}, "tags[0]"),
        ({"tags": ["region:north"]}, "tags[0]"),
        ({"contact_hours": "9-18"}, "contact_hours"),
        ({"organisation": 3}, "organisation"),
    ],
)
def test_the_door_names_the_bad_parameter(fields: dict[str, Any], parameter: str) -> None:
    with pytest.raises(ValidationError) as info:
        make(**fields)
    assert info.value.field == parameter


def test_contacts_match_by_normalised_keys() -> None:
    assert email_key(" Li.Wei@EXAMPLE.com") == email_key("ｌｉ.wei@example.com")
    assert phone_key("+86 138-1234-5678") == phone_key("13812345678") == "13812345678"
    assert phone_key("0086 138 1234 5678") == "13812345678"
    assert phone_key("+1 (415) 555-0100") == "+14155550100"


# -- R-CUS-3: history ---------------------------------------------------------------------------
def test_r_cus_3_every_change_is_an_event_with_before_and_after() -> None:
    customer = make(industry="retail")
    changed, events = change_customer(
        customer,
        {"industry": "energy", "name": "Li Wei", "tier": "vip", "tags": ["frequent buyer"]},
        actor="sup-1",
        now=T0 + timedelta(days=3),
        settings=RULES,
        reason="tier raised to VIP after purchase",
    )
    update, tier = events
    assert isinstance(update, CustomerUpdated)
    assert update.before == {"industry": "retail", "tags": []}
    assert update.after == {"industry": "energy", "tags": ["frequent buyer"]}
    assert tier.kind == "tier_changed" and tier.reason == "tier raised to VIP after purchase"  # type: ignore[attr-defined]
    assert changed.version == 3 and changed.tier == "vip"
    history = [
        *new_customer(
            "C20261122001", actor="a1", now=T0, settings=RULES, name="Li Wei", industry="retail"
        )[1],
        *events,
    ]
    assert Customer.from_events(history) == changed
    for event in history:
        assert customer_event_from_dict(customer_event_to_dict(event)) == event


def test_a_change_to_the_same_values_records_nothing() -> None:
    customer = make(emails=["a@b.example"])
    same, events = change_customer(
        customer, {"emails": ("a@b.example",)}, actor="a", now=T0, settings=RULES
    )
    assert events == [] and same == customer


def test_unknown_or_forbidden_fields_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        change_customer(make(), {"version": 9}, actor="a", now=T0, settings=RULES)
    assert info.value.field == "version"


def test_tier_rules_raise_the_tier_with_a_readable_reason() -> None:
    customer = make(kind="company")
    customer, events = record_fact(
        customer, "spend", 9000, actor="shop", now=T0 + timedelta(1), settings=RULES
    )
    assert [e.kind for e in events] == ["fact_recorded"] and customer.tier == "normal"
    customer, events = record_fact(
        customer, "spend", 12000.0, actor="shop", now=T0 + timedelta(2), settings=RULES
    )
    assert customer.tier == "vip"
    assert events[-1].reason == "tier raised to vip after spend 12000"  # type: ignore[attr-defined]
    assert events[-1].rule == "big-spender"  # type: ignore[attr-defined]
    customer, events = record_fact(
        customer, "spend", 600000, actor="shop", now=T0 + timedelta(3), settings=RULES
    )
    assert customer.tier == "strategic"
    assert events[-1].reason == "tier raised to strategic after the framework contract"  # type: ignore[attr-defined]
    customer, events = record_fact(
        customer, "spend", 20000, actor="shop", now=T0 + timedelta(4), settings=RULES
    )
    assert customer.tier == "strategic" and len(events) == 1  # rules never lower a tier


def test_facts_as_of_an_instant_or_event() -> None:
    _, history = new_customer("C1", actor="a", now=T0, settings=RULES, name="n", tags=["x"])
    customer = Customer.from_events(history)
    customer, more = record_fact(
        customer, "spend", 50000, actor="shop", now=T0 + timedelta(days=2), settings=RULES
    )
    history += more
    assert customer_facts(history, T0 - timedelta(1)) == {}
    assert customer_facts(history, T0 + timedelta(days=1))["tier"] == "normal"
    assert customer_facts(history, T0 + timedelta(days=2))["tier"] == "vip"
    assert customer_facts(history, seq=2)["tier"] == "normal"
    assert customer_facts(history) == customer_subject(customer)
    as_of = customer_as_of(history, T0 + timedelta(days=1))
    assert as_of is not None and as_of.facts == {}


def test_a_tickets_subject_carries_customer_fields() -> None:
    created = TicketCreated(
        ticket_id="t1",
        seq=1,
        at=T0,
        actor="a",
        number="T1",
        subject="s",
        type="complaint",
        priority="normal",
        channel="email",
        status="new",
        status_category="new",
        requester="C1",
    )
    subject = ticket_subject(Ticket.created(created), customer_subject(make(tier="vip")))
    assert compile_condition({"customer.tier": {"in": ["vip", "strategic"]}}).matches(subject)
    assert not compile_condition({"customer.tier": "vip"}).matches(
        ticket_subject(Ticket.created(created), customer_subject(None))
    )


@pytest.mark.parametrize("field", ["customer.tire", "nosuch.x"])
def test_an_unknown_customer_field_is_a_config_error_at_its_path(field: str) -> None:
    with pytest.raises(ConditionError) as info:
        load_config({"routing": {"rules": [{"id": "r", "where": {field: "vip"}, "team": "t"}]}})
    assert info.value.path == f"routing.rules[0].where.{field}"


# -- config ---------------------------------------------------------------------------------
def test_customers_section_defaults_and_custom_tiers() -> None:
    assert customers_config(load_config(None)) == CustomersConfig()
    config = load_config(
        {"customers": {"tiers": ["bronze", "silver", "gold"], "number_pattern": "K-{yy}{serial}"}}
    )
    settings = customers_config(config)
    assert settings.tiers == ("bronze", "silver", "gold")
    assert settings.number_pattern.text == "K-{yy}{serial}"


@pytest.mark.parametrize(
    ("section", "path"),
    [
        ({"tiers": []}, "customers.tiers"),
        ({"tiers": ["VIP"]}, "customers.tiers[0]"),
        ({"number_pattern": "C{date}"}, "customers.number_pattern"),
        ({"number_pattern": "C{serial}{date}"}, "customers.number_pattern"),
        ({"number_pattern": "C{day}{serial}"}, "customers.number_pattern"),
        (
            {"tier_rules": [{"when": {"fact.spend": {"gte": 1}}, "tier": "gold"}]},
            "customers.tier_rules[0].tier",
        ),
        ({"tier_rules": [{"tier": "vip"}]}, "customers.tier_rules[0].when"),
        (
            {"tier_rules": [{"when": {"spend": 1}, "tier": "vip"}]},
            "customers.tier_rules[0].when.spend",
        ),
        ({"tag_types": {"Segment": []}}, "customers.tag_types.Segment"),
        ({"tiers_": []}, "customers.tiers_"),
    ],
)
def test_customers_config_errors_name_the_key_path(section: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"customers": section})
    assert info.value.path == path


# -- R-CUS-2: masking -------------------------------------------------------------------------
def test_r_cus_2_contacts_are_masked_without_view_contact() -> None:
    customer = make(emails=["example@domain.com"], phones=["13812345678", "+86 139-8765-4321"])
    shown = present_customer(customer, may_view_contact=False)
    assert shown.emails == ("exa***@domain.com",)
    assert shown.phones == ("138****5678", "+86 139-****-4321")
    assert present_customer(customer, may_view_contact=True) == customer
    _, events = change_customer(
        customer, {"emails": ["other@domain.com"]}, actor="a", now=T0, settings=RULES
    )
    masked = present_customer_event(events[0], may_view_contact=False)
    assert masked.before == {"emails": ["exa***@domain.com"]}  # type: ignore[attr-defined]
    assert masked.after == {"emails": ["oth***@domain.com"]}  # type: ignore[attr-defined]


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_r_cus_2_a_masked_mobile_never_shows_its_middle_four(mobile: str) -> None:
    shown = present_customer(make(phones=[mobile]), may_view_contact=False).phones[0]
    assert shown == mobile[:3] + "****" + mobile[7:]


# -- R-CUS-4: summary -------------------------------------------------------------------------
def _tickets() -> list[Ticket]:
    rows = []
    for i, (kind, category) in enumerate(
        [("complaint", "open"), ("complaint", "solved"), ("consultation", "closed")]
    ):
        created = TicketCreated(
            ticket_id=f"t{i}",
            seq=1,
            at=T0 + timedelta(days=i),
            actor="a",
            number=f"T{i}",
            subject="s",
            type=kind,
            priority="normal",
            channel="email",
            status=category,
            status_category=category,
            requester="C20261122001",
        )
        rows.append(Ticket.created(created))
    return rows


def test_r_cus_4_summary_in_english_and_chinese() -> None:
    customer = make(
        kind="company",
        organisation="Acme",
        industry="retail",
        tier="vip",
        tags=["frequent buyer", "price-sensitive"],
    )
    stats = TicketStats.of(_tickets())
    assert customer_summary(customer, stats, timezone="Asia/Shanghai") == (
        "Li Wei (C20261122001) is a VIP company customer at Acme in retail, on record since "
        "2026-11-22. Tags: frequent buyer, price-sensitive. Service history: 3 tickets (1 open, "
        "2 solved), mostly complaint (2); last contact on 2026-11-24."
    )
    assert customer_summary(customer, stats, locale="zh-CN", timezone="Asia/Shanghai") == (
        "Li Wei（C20261122001）是VIP企业客户，所属Acme，行业为retail，自2026-11-22起建档。"
        "标签：frequent buyer、price-sensitive。服务记录：共3张工单（处理中1张，已解决2张），"
        "以投诉为主（2张），最近一次联系在2026-11-24。"
    )
    assert customer_summary(make(), TicketStats.of([])).endswith("No tickets so far.")
    with pytest.raises(ValidationError):
        customer_summary(customer, stats, locale="fr")
