"""``desk.ingest_email``: raw mail into tickets on every store (issue 23, R-TKT-1, R-CUS-1).

Outcomes (created, appended, ignored, quarantined), redelivery, threading, sender resolution,
acknowledgements and their limit, attachments, the intake records agents triage.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from helpdesk_core import (
    Actor,
    Agent,
    Helpdesk,
    IngestResult,
    NotFound,
    PermissionDenied,
    StorageError,
    ValidationError,
    hookimpl,
)
from helpdesk_core.testing import FixedClock
from helpdesk_plugins.channel_email import make_message_id

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
CONFIG = {
    "desk": {"default_team": "after-sales"},
    "email": {
        "from": "Example Support <support@example.com>",
        "domains": ["example.com"],
        "automated_allow": ["alerts@monitor.example.net"],
        "attachment_max_bytes": 5000,
        "attachment_types": ["text/*", "image/*", "application/pdf"],
    },
}
AGENT = Actor(id="a-17", roles={"agent"}, team="after-sales", department="service")
SUPERVISOR = Actor(id="s-1", roles={"supervisor"}, team="after-sales", department="service")
ADMIN = Actor(id="root", roles={"admin"})


@pytest.fixture
def desk(store_url: str) -> Iterator[Helpdesk]:
    with Helpdesk(CONFIG, store_url, clock=FixedClock(NOW), load_entrypoints=False) as d:
        yield d


def mail(
    body: str = "The cup inside is in pieces.",
    *,
    sender: str = "Zhang San <zhang@customer.cn>",
    subject: str = "Parcel arrived broken",
    message_id: str | None = "m-1@customer.cn",
    headers: str = "",
) -> bytes:
    lines = [f"From: {sender}", "To: support@example.com", f"Subject: {subject}"]
    if message_id is not None:
        lines.append(f"Message-ID: <{message_id}>")
    text = "\n".join(lines) + "\n" + headers
    return (text + "Content-Type: text/plain; charset=utf-8\n\n" + body + "\n").encode()


def test_a_persons_mail_creates_a_ticket_and_a_numbered_customer(desk: Helpdesk) -> None:
    """R-TKT-1, R-CUS-1: a new sender becomes a customer with a number; the ticket is theirs."""
    result = desk.ingest_email(mail())
    assert result.outcome == "created" and not result.duplicate
    assert result.message_id == "m-1@customer.cn"
    assert result.customer_id == "C20261102001"
    ticket = desk.get_ticket(ADMIN, result.ticket_id)  # type: ignore[arg-type]
    assert ticket.requester == result.customer_id and ticket.channel == "email"
    assert ticket.subject == "Parcel arrived broken"
    assert ticket.description == "The cup inside is in pieces."
    assert ticket.created_by == result.customer_id  # the sender is the author
    customer = desk.get_customer(ADMIN, result.customer_id)  # type: ignore[arg-type]
    assert customer.name == "Zhang San" and customer.emails == ("zhang@customer.cn",)


def test_redelivery_returns_the_first_outcome_and_writes_nothing(desk: Helpdesk) -> None:
    """Issue 23: (Message-ID, SHA-256) recognises a redelivery."""
    first = desk.ingest_email(mail())
    with desk.storage.transaction() as uow:
        before = (len(uow.outbox()), len(uow.intake_records(limit=1000)))
    again = desk.ingest_email(mail())
    assert again == attrs.evolve(first, duplicate=True)
    assert again.duplicate and again.outcome == "created" and again.ticket_id == first.ticket_id
    with desk.storage.transaction() as uow:
        assert (len(uow.outbox()), len(uow.intake_records(limit=1000))) == before
    assert len(desk.tickets(ADMIN)) == 1


def test_messages_sharing_a_message_id_are_all_kept(desk: Helpdesk) -> None:
    one = desk.ingest_email(mail("first text", message_id="same@x.cn"))
    two = desk.ingest_email(mail("other text", message_id="same@x.cn", sender="li@other.cn"))
    assert not one.duplicate and not two.duplicate
    assert {one.outcome, two.outcome} == {"created"} and one.ticket_id != two.ticket_id


def test_a_reply_threads_by_in_reply_to_and_is_trimmed(desk: Helpdesk) -> None:
    created = desk.ingest_email(mail())
    reply = mail(
        "Any news?\n\nOn Mon, 2 Nov 2026, Zhang wrote:\n> The cup inside is in pieces.",
        subject="Re: Parcel arrived broken",
        message_id="m-2@customer.cn",
        headers="In-Reply-To: <m-1@customer.cn>\n",
    )
    result = desk.ingest_email(reply)
    assert result.outcome == "appended" and result.ticket_id == created.ticket_id
    ticket = desk.get_ticket(ADMIN, created.ticket_id)  # type: ignore[arg-type]
    assert [(m.kind, m.author, m.body) for m in ticket.messages] == [
        ("customer", created.customer_id, "Any news?")
    ]
    # a reply to the reply threads through References too
    third = mail("Third", message_id="m-3@customer.cn", headers="References: <m-2@customer.cn>\n")
    assert desk.ingest_email(third).ticket_id == created.ticket_id


def test_a_reply_to_our_own_message_id_threads(desk: Helpdesk) -> None:
    created = desk.ingest_email(mail())
    ours = make_message_id("ack", "example.com", created.ticket_id)
    reply = mail("Thanks", message_id="r@customer.cn", headers=f"In-Reply-To: <{ours}>\n")
    assert desk.ingest_email(reply).ticket_id == created.ticket_id


def test_the_subject_token_threads_for_the_requester_only(desk: Helpdesk) -> None:
    created = desk.ingest_email(mail())
    number = desk.get_ticket(ADMIN, created.ticket_id).number  # type: ignore[arg-type]
    token = mail("More", subject=f"Re: [#{number}] broken", message_id="t@customer.cn")
    assert desk.ingest_email(token).outcome == "appended"
    stranger = mail(
        "I know your number", subject=f"[#{number}] hi", sender="x@evil.example",
        message_id="t2@evil.example",
    )  # fmt: skip
    assert desk.ingest_email(stranger).outcome == "created"  # a token alone does not let in


def test_a_cc_colleague_of_the_same_organisation_appends(desk: Helpdesk) -> None:
    zhang = desk.create_customer(
        ADMIN, name="Zhang", emails=["zhang@customer.cn"], organisation="acme"
    )
    desk.create_customer(ADMIN, name="Wang", emails=["wang@customer.cn"], organisation="acme")
    created = desk.ingest_email(mail())
    assert created.customer_id == zhang.id
    cc_reply = mail(
        "Adding the order number", sender="wang@customer.cn", message_id="w@customer.cn",
        headers="In-Reply-To: <m-1@customer.cn>\n",
    )  # fmt: skip
    result = desk.ingest_email(cc_reply)
    assert result.outcome == "appended" and result.ticket_id == created.ticket_id
    other_org = mail(
        "me too", sender="li@other.cn", message_id="l@other.cn",
        headers="In-Reply-To: <m-1@customer.cn>\n",
    )  # fmt: skip
    assert desk.ingest_email(other_org).outcome == "created"


def test_an_agents_mail_is_an_agent_reply(desk: Helpdesk) -> None:
    desk.save_agent(
        ADMIN, Agent(id="a-17", name="Li", team="after-sales", emails=("li.agent@example.com",))
    )
    created = desk.ingest_email(mail())
    answer = mail(
        "We will send a new cup.", sender="Li <LI.Agent@example.com>", message_id="a@example.com",
        headers="In-Reply-To: <m-1@customer.cn>\n",
    )  # fmt: skip
    result = desk.ingest_email(answer)
    assert result.outcome == "appended" and result.customer_id is None
    ticket = desk.get_ticket(ADMIN, created.ticket_id)  # type: ignore[arg-type]
    assert [(m.kind, m.author) for m in ticket.messages] == [("reply", "a-17")]
    # the same agent writing about nothing: no ticket, kept for a person to look at
    loose = mail("hello", sender="li.agent@example.com", message_id="b@example.com")
    kept = desk.ingest_email(loose)
    assert (kept.outcome, kept.reason) == ("quarantined", "refused")


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("Auto-Submitted: auto-replied\n", "auto_submitted"),
        ("Precedence: bulk\n", "precedence"),
        ("X-Loop: support@example.com\n", "loop"),
        ("Return-Path: <>\n", "dsn"),
    ],
)
def test_automated_mail_is_ignored_without_ticket_or_acknowledgement(
    desk: Helpdesk, headers: str, reason: str
) -> None:
    result = desk.ingest_email(mail(headers=headers))
    assert (result.outcome, result.reason, result.ticket_id) == ("ignored", reason, None)
    assert result.detail
    assert desk.tickets(ADMIN) == []
    with desk.storage.transaction() as uow:
        assert uow.outbox() == []
        (record,) = uow.intake_records()
        assert record.raw == mail(headers=headers)


def test_our_own_mail_coming_back_is_ignored(desk: Helpdesk) -> None:
    ours = make_message_id("event:t:1:C1", "example.com", "t-1")
    result = desk.ingest_email(mail(message_id=ours, sender="support@example.com"))
    assert (result.outcome, result.reason) == ("ignored", "own_message")


def test_allow_listed_automated_sender_makes_a_ticket(desk: Helpdesk) -> None:
    alert = mail(
        "db-1 at 91%",
        sender="alerts@monitor.example.net",
        headers="Auto-Submitted: auto-generated\n",
    )
    assert desk.ingest_email(alert).outcome == "created"


@pytest.mark.parametrize("raw", [b"", b"\x00\x01 not mail", b"no header at all\n"])
def test_unusable_bytes_are_quarantined_with_their_bytes(desk: Helpdesk, raw: bytes) -> None:
    result = desk.ingest_email(raw)
    assert (result.outcome, result.reason) == ("quarantined", "unparseable")
    (record,) = desk.intake_records(SUPERVISOR, outcome="quarantined")
    assert record.raw == raw and record.detail


def test_non_bytes_is_a_validation_error_at_the_door(desk: Helpdesk) -> None:
    for value in ("From: a@b.cn\n\nx", None, 42):
        with pytest.raises(ValidationError) as caught:
            desk.ingest_email(value)  # type: ignore[arg-type]
        assert caught.value.field == "raw"


def test_a_storage_outage_raises_and_records_nothing(store_url: str) -> None:
    desk = Helpdesk(CONFIG, store_url, clock=FixedClock(NOW), load_entrypoints=False)
    desk.storage.close()
    with pytest.raises(StorageError):
        desk.ingest_email(mail())


def test_acknowledgement_tells_the_number_at_most_three_an_hour(desk: Helpdesk) -> None:
    """R-TKT-1: the customer is told the ticket number; [email] ack_limit_per_hour (3)."""
    for n in range(5):
        desk.ingest_email(mail(f"issue {n}", message_id=f"n{n}@customer.cn"), now=NOW)
    later = NOW + timedelta(hours=1, seconds=1)
    desk.ingest_email(mail("later", message_id="late@customer.cn"), now=later)
    with desk.storage.transaction() as uow:
        acks = [m for m in uow.outbox() if m.topic == "acknowledgement"]
    assert len(acks) == 4
    assert {a.payload["email"] for a in acks} == {"zhang@customer.cn"}
    assert all(a.payload["number"].startswith("T2026110") for a in acks)


def test_attachments_are_stored_and_read_back_by_who_may_view(desk: Helpdesk) -> None:
    boundary = "b1"
    raw = (
        "From: zhang@customer.cn\nSubject: photo\nMessage-ID: <p@customer.cn>\n"
        f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="{boundary}"\n\n'
        f"--{boundary}\nContent-Type: text/plain\n\nSee the photo.\n"
        f"--{boundary}\nContent-Type: image/png\nContent-Disposition: attachment; "
        'filename="cup.png"\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n'
        f"--{boundary}\nContent-Type: application/x-msdownload\nContent-Disposition: "
        'attachment; filename="run.exe"\n\nMZ\n'
        f"--{boundary}--\n"
    ).encode()
    result = desk.ingest_email(raw)
    ticket_id = result.ticket_id
    assert ticket_id is not None
    with desk.storage.transaction() as uow:
        (stored,) = uow.attachments(ticket_id)
    got = desk.attachment(ADMIN, ticket_id, stored.id)
    assert (got.filename, got.content_type, got.content) == (
        "cup.png",
        "image/png",
        b"\x89PNG\r\n\x1a\n",
    )
    ticket = desk.get_ticket(ADMIN, ticket_id)
    assert "attachment left out: run.exe" in ticket.description
    customer = Actor(id=result.customer_id or "", roles={"customer"})
    assert desk.attachment(customer, ticket_id, stored.id).content == got.content
    outsider = Actor(id="C999", roles={"customer"})
    with pytest.raises(NotFound):
        desk.attachment(outsider, ticket_id, stored.id)
    with pytest.raises(NotFound):
        desk.attachment(ADMIN, ticket_id, "missing")


def test_agents_list_and_promote_set_aside_mail(desk: Helpdesk) -> None:
    desk.ingest_email(mail("away until Monday", headers="Auto-Submitted: auto-replied\n"))
    desk.ingest_email(b"\x00garbage")
    records = desk.intake_records(AGENT)
    assert [r.outcome for r in records] == ["quarantined", "ignored"]  # newest first
    ignored = next(r for r in records if r.outcome == "ignored")
    ticket = desk.promote_intake(AGENT, ignored.id)
    assert ticket.subject == "Parcel arrived broken" and ticket.requester is not None
    assert desk.intake_records(AGENT, outcome="ignored")[0].promoted_to == ticket.id
    with pytest.raises(ValidationError):
        desk.promote_intake(AGENT, ignored.id)
    with pytest.raises(NotFound):
        desk.promote_intake(AGENT, "nope")
    customer = Actor(id="C1", roles={"customer"})
    with pytest.raises(PermissionDenied):
        desk.intake_records(customer)
    with pytest.raises(ValidationError):
        desk.intake_records(AGENT, outcome="bogus")


# -- the web form (R-TKT-1) ---------------------------------------------------------------------
FORM = {
    "email": "Li.Wei@Example.net",
    "name": "Li Wei",
    "subject": "Cannot log in",
    "body": "The app says my password is wrong.",
}


def test_a_web_form_opens_a_ticket_and_acknowledges_its_number(desk: Helpdesk) -> None:
    """R-TKT-1: the customer is told the ticket number at once."""
    result = desk.submit_web_form({**FORM, "phone": "138 1234 5678", "priority": "high"})
    assert result.outcome == "created" and result.ticket_id and result.customer_id
    ticket = desk.get_ticket(ADMIN, result.ticket_id)
    assert (ticket.channel, ticket.priority, ticket.subject) == (
        "web_form",
        "high",
        "Cannot log in",
    )
    assert ticket.description == FORM["body"] and ticket.requester == result.customer_id
    customer = desk.get_customer(ADMIN, result.customer_id)
    assert customer.name == "Li Wei" and customer.phones == ("138 1234 5678",)
    with desk.storage.transaction() as uow:
        (ack,) = [m for m in uow.outbox() if m.topic == "acknowledgement"]
    assert ack.payload["number"] == ticket.number and ack.payload["email"] == FORM["email"]
    # the same address again is the same customer (found by normalised email)
    again = desk.submit_web_form({**FORM, "email": "li.wei@example.net", "subject": "Still"})
    assert again.customer_id == result.customer_id and again.ticket_id != result.ticket_id
    # and so is their mail
    reply = mail("From my mail client", sender="li.wei@example.net", message_id="lw@example.net")
    assert desk.ingest_email(reply).customer_id == result.customer_id


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not an address"}, "payload.email"),
        ({"email": None}, "payload.email"),
        ({"name": ""}, "payload.name"),
        ({"name": "x" * 101}, "payload.name"),
        ({"subject": "a\nBcc: x@example.com"}, "payload.subject"),
        ({"subject": "a\x00b"}, "payload.subject"),
        ({"body": 5}, "payload.body"),
        ({"body": "x" * 100_001}, "payload.body"),
        ({"phone": "call me"}, "payload.phone"),
        ({"type": "nosuch"}, "payload.type"),
        ({"priority": "urgentest"}, "payload.priority"),
        ({"colour": "blue"}, "payload.colour"),
        ({"idempotency_key": ""}, "payload.idempotency_key"),
        ({"idempotency_key": "has space"}, "payload.idempotency_key"),
        ({"idempotency_key": "键"}, "payload.idempotency_key"),
        ({"idempotency_key": "k" * 201}, "payload.idempotency_key"),
        ({"idempotency_key": 42}, "payload.idempotency_key"),
    ],
)
def test_a_bad_web_form_names_the_field_and_writes_nothing(
    desk: Helpdesk, change: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        desk.submit_web_form({**FORM, **change})
    assert caught.value.field == field
    assert desk.tickets(ADMIN) == []
    with desk.storage.transaction() as uow:
        assert uow.outbox() == [] and uow.intake_records() == []


def test_a_web_form_missing_a_field_or_not_a_mapping(desk: Helpdesk) -> None:
    with pytest.raises(ValidationError) as caught:
        desk.submit_web_form({k: v for k, v in FORM.items() if k != "subject"})
    assert caught.value.field == "payload.subject"
    with pytest.raises(ValidationError) as caught:
        desk.submit_web_form([("email", "x")])  # type: ignore[arg-type]
    assert caught.value.field == "payload"


@pytest.mark.parametrize(
    "message_id",
    [
        b"<a\x00b@customer.cn>",  # NUL
        b"<\xff\xfe@customer.cn>",  # raw 8-bit bytes, not UTF-8
        ("<" + "杯" * 900 + "@customer.cn>").encode(),  # 2,700+ bytes: too big for an index row
        b"<#looks-like-a-digest@customer.cn>",
    ],
)
def test_odd_message_ids_are_filed_threaded_and_deduplicated(
    desk: Helpdesk, message_id: bytes
) -> None:
    """Issue 23: any bytes, on every store; the Message-ID still threads the reply."""
    raw = b"From: zhang@customer.cn\nSubject: odd id\nMessage-ID: " + message_id + b"\n\nHello\n"
    first = desk.ingest_email(raw)
    assert first.outcome == "created"
    assert desk.ingest_email(raw).duplicate
    reply = b"From: zhang@customer.cn\nSubject: Re\nIn-Reply-To: " + message_id + b"\n\nMore\n"
    result = desk.ingest_email(reply)
    assert (result.outcome, result.ticket_id) == ("appended", first.ticket_id)


def test_the_same_request_mailed_twice_is_flagged_as_a_duplicate(desk: Helpdesk) -> None:
    """R-TKT-5 holds for mail as for open_ticket: suspected, never merged by itself."""
    first = desk.ingest_email(mail(message_id="d1@customer.cn"))
    second = desk.ingest_email(mail(message_id="d2@customer.cn"))
    assert first.outcome == second.outcome == "created"
    ticket = desk.get_ticket(ADMIN, second.ticket_id or "")
    assert ticket.suspected_duplicates == (first.ticket_id,)


class _RouteToNobody:
    """A host plugin whose routing choice is an agent the directory does not know."""

    @hookimpl
    def helpdesk_route_ticket(self, ticket: object, candidates: object) -> str:
        return "no-such-agent"


def test_a_failure_while_filing_quarantines_the_mail(store_url: str) -> None:
    """Issue 23: nothing is lost; the mail is kept with reason ``failed`` and why."""
    config = {**CONFIG, "routing": {"preset": "guides"}}
    with Helpdesk(
        config, store_url, plugins=[_RouteToNobody()], clock=FixedClock(NOW),
        load_entrypoints=False,
    ) as desk:  # fmt: skip
        result = desk.ingest_email(mail())
        assert (result.outcome, result.reason) == ("quarantined", "failed")
        assert "no-such-agent" in (result.detail or "")
        assert desk.tickets(ADMIN) == []
        (record,) = desk.intake_records(SUPERVISOR)
        assert record.raw == mail()
        assert desk.ingest_email(mail()).duplicate


def test_two_deliveries_at_once_make_one_ticket(desk: Helpdesk) -> None:
    """Issue 23: an IMAP poller and an LMTP listener handing over the same mail together still
    make one ticket; the other delivery sees the first's outcome."""
    barrier = threading.Barrier(2)
    results: list[object] = []

    def deliver() -> None:
        barrier.wait(timeout=10)
        try:
            results.append(desk.ingest_email(mail()))
        except Exception as exc:  # pragma: no cover - what this test exists to catch
            results.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(r, IngestResult) for r in results), results
    found = [r for r in results if isinstance(r, IngestResult)]
    assert sorted(r.duplicate for r in found) == [False, True]
    assert found[0].ticket_id == found[1].ticket_id
    assert len(desk.tickets(ADMIN)) == 1
    with desk.storage.transaction() as uow:
        assert len(uow.intake_records()) == 1
        assert len([m for m in uow.outbox() if m.topic == "acknowledgement"]) == 1
