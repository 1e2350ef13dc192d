"""Intake: raw email and web forms into tickets (issue 23, R-TKT-1), through the one command
path, as the system actor.

The rules of ``ingest_email``, in order:

1. The door: ``raw`` must be bytes (else ``ValidationError('raw')``); the desk's ``email``
   channel reads it (:class:`~helpdesk_core.ports.MailChannel`), outside the transaction.
2. Redelivery: a record with the same dedupe key (Message-ID or none, SHA-256 of the bytes)
   exists: its outcome comes back with ``duplicate=True`` and nothing is written.
3. Mail the channel classified (automated, bounce, loop, our own) is ``ignored``; unusable mail
   is ``quarantined``; both keep the raw bytes, make no ticket and no acknowledgement.
4. The sender is resolved by address: an agent of the directory (``Agent.emails``), else a
   customer with that email, else a new customer (numbered by ``[customers]``).
5. Threading: In-Reply-To then References (newest first, at most
   :data:`MAX_THREAD_LOOKUPS` of them) against the Message-IDs we sent and the ones we
   received, then the ``[#<number>]`` subject token. A ticket merged away is followed to its
   survivor; one archived opens a new ticket. A thread found is appended to when the sender is
   an agent who may reply on it, its requester, or a customer of the same organisation (a
   colleague on CC); anyone else opens a new ticket.
6. Appended customer mail is the trimmed reply text; a new ticket's description is the whole
   text. Attachments are stored (``desk.attachment``); ones over the limits are named in the
   message. The message's Message-ID is remembered for the replies to come.
7. A new ticket is acknowledged to the sender (an outbox row, R-TKT-1), at most
   ``acknowledgements_per_hour`` times per address per hour.
8. Anything that fails while filing (but the store) is retried once as a ``quarantined`` record
   with reason ``failed``: for any bytes ingest returns a result, or raises
   :class:`~helpdesk_core.errors.StorageError` having recorded nothing.

``submit_web_form`` validates the payload at the door (``ValidationError`` naming
``payload.<field>``), then files a new ticket as the sender, found or created as a customer
exactly as for mail, and acknowledges it. Redelivery: a form that carries an
``idempotency_key`` (a client's retry of one submission; the reference server passes an HTTP
``Idempotency-Key`` header here) is recorded under ``web:<sender's email key>:<key>`` with the
form's canonical JSON as its raw bytes; the same key from the same sender with the same fields
returns the first result with ``duplicate=True`` and writes nothing, with different fields it
is a ``ValidationError`` naming ``payload.idempotency_key``. Without a key nothing is
deduplicated: two identical forms are two tickets.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Final

import attrs

from helpdesk_core import validation as check
from helpdesk_core.customer_commands import create_customer_in, find_customer_in
from helpdesk_core.customers import check_emails, check_phones, customers_config
from helpdesk_core.duplicates import duplicates_config, find_duplicates_in
from helpdesk_core.errors import (
    ConcurrencyConflict,
    NotFound,
    PluginError,
    StorageError,
    ValidationError,
)
from helpdesk_core.model.customers import Customer, customer_subject, email_key
from helpdesk_core.model.events import CustomerMessaged, Replied, TicketCreated
from helpdesk_core.model.intake import (
    IGNORE_REASONS,
    Attachment,
    InboundMail,
    IngestResult,
    IntakeRecord,
    dedupe_key,
    message_key,
)
from helpdesk_core.model.people import SYSTEM, Actor, Agent
from helpdesk_core.model.records import OutboxMessage
from helpdesk_core.model.tickets import Ticket, ticket_subject
from helpdesk_core.ports import Channel, MailChannel
from helpdesk_core.service.runner import Call, Change, Runner
from helpdesk_core.service.tickets import (
    TicketRules,
    created_event,
    renumbered,
    route,
    status_event,
)

MAIL_CHANNEL: Final = "email"
"""The name of the channel that reads mail."""
WEB_CHANNEL: Final = "web_form"
CLOSED_FOR_GOOD: Final = frozenset({"archived", "merged"})
"""Statuses a mail never reopens: a reply to such a ticket opens a new one."""
LISTED_BY_DEFAULT: Final = ("ignored", "quarantined")
MAX_PAGE: Final = 1000
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]+")
NO_SUBJECT: Final = "(no subject)"
MAX_THREAD_LOOKUPS: Final = 50
"""In-Reply-To and the newest References looked up at most: a mail naming thousands of
Message-IDs costs a bounded number of store reads."""


# -- small helpers ------------------------------------------------------------------------------
def one_line(value: str, limit: int = check.MAX_LINE) -> str:
    """``value`` as one line of valid text within ``limit`` characters."""
    value = _CONTROL.sub(" ", valid_text(value)).strip()
    return value[:limit].strip()


def valid_text(value: str, limit: int = check.MAX_TEXT) -> str:
    """``value`` without NUL or lone surrogates, at most ``limit`` characters."""
    value = value.replace("\x00", "")
    value = value.encode("utf-8", errors="replace").decode("utf-8")
    return value[:limit]


def safe_id(value: str) -> str:
    """A Message-ID (or ticket id) as valid text: lone surrogates replaced, NUL removed."""
    return valid_text(value, 998)


def mail_channel(channels: Mapping[str, Channel]) -> MailChannel:
    """The desk's ``email`` channel, which must read mail in full."""
    channel = channels.get(MAIL_CHANNEL)
    if not isinstance(channel, MailChannel):
        raise PluginError(
            "no 'email' channel with parse_mail() is registered (helpdesk_register_channels); "
            "the built-in helpdesk_plugins.channel_email provides one"
        )
    return channel


def read_mail(channel: MailChannel, raw: bytes, at: datetime) -> InboundMail:
    """The channel's reading, its identifiers made safe to store (no NUL, no lone surrogate);
    a channel that breaks its promise never to raise gives an unparseable reading instead."""
    try:
        mail = channel.parse_mail(raw, at)
        if isinstance(mail, InboundMail):
            return attrs.evolve(
                mail,
                message_id=None if mail.message_id is None else safe_id(mail.message_id),
                sender=None if mail.sender is None else one_line(mail.sender) or None,
                sender_name=one_line(mail.sender_name),
                thread_ids=tuple(safe_id(i) for i in mail.thread_ids),
                sent_tickets={safe_id(k): safe_id(v) for k, v in mail.sent_tickets.items()},
                ticket_token=None if mail.ticket_token is None else one_line(mail.ticket_token),
            )
        detail = f"the email channel returned {type(mail).__name__}, not InboundMail"
    except Exception as exc:
        detail = f"the email channel failed: {type(exc).__name__}: {exc}"
    return InboundMail(
        sha256=hashlib.sha256(raw).hexdigest(), reason="unparseable", detail=detail[:500]
    )


def agent_with_email(agents: list[Agent], address: str) -> Agent | None:
    key = email_key(address)
    for agent in agents:
        if any(email_key(e) == key for e in agent.emails):
            return agent
    return None


def customer_name(address: str, display: str) -> str:
    name = one_line(display, check.MAX_NAME)
    return name or one_line(address.partition("@")[0], check.MAX_NAME) or address[:100]


def find_or_create_customer(
    runner: Runner, call: Call, address: str, name: str, phone: str | None = None
) -> Customer:
    """The customer with this email (the survivor of a merge), else a new numbered one."""
    try:
        found = find_customer_in(call.uow, email=address)
    except ValidationError:
        found = None
    if found is not None:
        return found
    settings = customers_config(runner.config)
    try:
        emails = check_emails([address])
    except ValidationError:  # an address the profile rules refuse (user@localhost): no email
        emails = ()
    return create_customer_in(
        call.uow,
        actor=SYSTEM.id,
        now=call.at,
        settings=settings,
        timezone=runner.config.desk.timezone,
        name=customer_name(address, name),
        emails=emails,
        phones=() if phone is None else [phone],
    )


def may_append(ticket: Ticket, customer: Customer) -> bool:
    """A customer's mail joins a thread when they are its requester or of its organisation."""
    return ticket.requester == customer.id or (
        ticket.organisation is not None and customer.organisation == ticket.organisation
    )


def thread_of(call: Call, mail: InboundMail) -> Ticket | None:
    """The ticket the mail answers (rules 5 of the module docstring), or None."""
    uow = call.uow
    ticket: Ticket | None = None
    named = mail.thread_ids[:MAX_THREAD_LOOKUPS]
    received = uow.tickets_of_message_ids(
        [message_key(i) for i in named if i not in mail.sent_tickets]
    )  # one round trip for all of them
    for message_id in named:
        ticket_id = mail.sent_tickets.get(message_id) or received.get(message_key(message_id))
        ticket = uow.get_ticket(ticket_id) if ticket_id else None
        if ticket is not None:
            break
    if ticket is None and mail.ticket_token:
        ticket = uow.get_ticket_by_number(mail.ticket_token)
    for _ in range(10):  # a merged ticket: its survivor takes the mail
        if ticket is None or ticket.merged_into is None:
            break
        ticket = uow.get_ticket(ticket.merged_into)
    return ticket


def acknowledge(
    runner: Runner, call: Call, ticket: Ticket, customer: Customer, address: str, limit: int,
    in_reply_to: str | None = None,
) -> bool:  # fmt: skip
    """Queue the acknowledgement of a new ticket to ``address`` unless the address had
    ``limit`` of them in the past hour (R-TKT-1)."""
    key = email_key(address)
    if call.uow.acknowledgements_since(key, call.at - timedelta(hours=1)) >= limit:
        return False
    call.uow.add_acknowledgement(key, call.at)
    payload: dict[str, Any] = {
        "ticket_id": ticket.id,
        "number": ticket.number,
        "subject": ticket.subject,
        "recipient": customer.id,
        "email": address,
        "name": customer.name,
    }
    if in_reply_to:
        payload["in_reply_to"] = in_reply_to
    call.uow.add_outbox(
        OutboxMessage(
            id=runner.new_id(),
            topic="acknowledgement",
            key=f"acknowledgement:{ticket.id}",
            payload=payload,
            created_at=call.at,
            available_at=call.at,
        )
    )
    return True


def attach(
    call: Call,
    ticket_id: str,
    message_id: str | None,
    mail: InboundMail,
    new_id: Callable[[], str],
) -> None:
    for part in mail.attachments:
        call.uow.add_attachment(
            Attachment(
                id=new_id(),
                ticket_id=ticket_id,
                filename=one_line(part.filename, 255) or "attachment",
                content_type=one_line(part.content_type, 255) or "application/octet-stream",
                content=part.content,
                at=call.at,
                message_id=message_id,
            )
        )


def with_notes(text: str, mail: InboundMail) -> str:
    notes = [f"[attachment left out: {one_line(n, 300)}]" for n in mail.rejected_attachments]
    body = "\n\n".join([t for t in (text.strip(), "\n".join(notes)) if t])
    return valid_text(body) or "(no text)"


def open_from(
    runner: Runner,
    rules: TicketRules,
    call: Call,
    *,
    author: str,
    customer: Customer | None,
    subject: str,
    description: str,
    channel: str,
    ticket_type: str | None = None,
    priority: str | None = None,
) -> Change:
    """A new ticket as ``author`` (the sender), routed as ``open_ticket`` routes."""
    cfg = runner.config
    call.authorise("ticket.create")
    created: TicketCreated = created_event(
        runner,
        call,
        runner.new_id(),
        subject=one_line(subject) or NO_SUBJECT,
        ticket_type=ticket_type or cfg.desk.default_type,
        priority=priority or cfg.desk.default_priority,
        channel=channel,
        requester=None if customer is None else customer.id,
        organisation=None if customer is None else customer.organisation,
        team=cfg.desk.default_team,
        department=None,
        description=description,
    )
    created = attrs.evolve(created, actor=author)
    if priority is None and rules.routing is not None:  # as open_ticket: the intake guess
        guess = rules.routing.auto_priority(ticket_subject(Ticket.created(created)))
        if guess is not None:
            created = attrs.evolve(created, priority=guess, priority_auto=True)
    change = call.track(Ticket.created(created), [created])
    # R-TKT-5, as for open_ticket: the requester's open tickets that read the same
    duplicates = duplicates_config(cfg)
    found = find_duplicates_in(call.uow, change.ticket, duplicates, author, runner.text_features)
    for suspected in found:
        change.add(partial(renumbered, suspected))
    if rules.routing is not None and rules.routing.auto:
        route(runner, rules, call, change, customer_subject(customer))
    return change


# -- ingest_email -------------------------------------------------------------------------------
def ingest_email(
    runner: Runner,
    rules: TicketRules,
    channels: Mapping[str, Channel],
    raw: bytes,
    *,
    now: datetime | None,
) -> IngestResult:
    if isinstance(raw, bytearray | memoryview):
        raw = bytes(raw)
    if not isinstance(raw, bytes):
        raise ValidationError("raw", f"must be the message's bytes, got {type(raw).__name__}")
    at = runner.now(now)
    channel = mail_channel(channels)
    mail = read_mail(channel, raw, at)
    key = dedupe_key(mail.message_id, mail.sha256)

    def body(call: Call) -> IngestResult:
        existing = call.uow.intake_by_key(key)
        if existing is not None:
            return existing.result(duplicate=True)
        record = file_mail(runner, rules, call, mail, raw, key, channel.acknowledgements_per_hour)
        if not call.uow.add_intake(record):  # a concurrent delivery recorded it first
            raise ConcurrencyConflict(f"intake {key}", 0, 1)
        return record.result()

    try:
        return runner.run(SYSTEM, "intake.ingest", None, at, body)
    except StorageError:
        raise
    except Exception as exc:  # rule 8: keep the message, say why
        detail = f"{type(exc).__name__}: {exc}"[:500]

    def failed(call: Call) -> IngestResult:
        existing = call.uow.intake_by_key(key)
        if existing is not None:
            return existing.result(duplicate=True)
        record = set_aside(call, mail, raw, key, "quarantined", "failed", detail)
        if not call.uow.add_intake(record):
            raise ConcurrencyConflict(f"intake {key}", 0, 1)
        return record.result()

    return runner.run(SYSTEM, "intake.ingest", None, at, failed)


def set_aside(
    call: Call,
    mail: InboundMail,
    raw: bytes,
    key: str,
    outcome: str,
    reason: str,
    detail: str,
    customer_id: str | None = None,
) -> IntakeRecord:
    return IntakeRecord(
        id=call.new_id(),
        at=call.at,
        channel=MAIL_CHANNEL,
        outcome=outcome,  # type: ignore[arg-type]
        dedupe_key=key,
        message_id=mail.message_id,
        sender=mail.sender,
        subject=one_line(mail.subject),
        customer_id=customer_id,
        reason=reason,
        detail=one_line(detail),
        raw=raw,
    )


def file_mail(
    runner: Runner,
    rules: TicketRules,
    call: Call,
    mail: InboundMail,
    raw: bytes,
    key: str,
    ack_limit: int,
) -> IntakeRecord:
    """Rules 3-7 of the module docstring: the record of what became of ``mail``."""
    if mail.reason is not None or mail.sender is None:
        reason = mail.reason or "unparseable"
        outcome = "ignored" if reason in IGNORE_REASONS else "quarantined"
        detail = mail.detail or ("no sender address" if mail.sender is None else reason)
        return set_aside(call, mail, raw, key, outcome, reason, detail)
    sender = mail.sender
    ticket = thread_of(call, mail)
    if ticket is not None and ticket.status in CLOSED_FOR_GOOD:
        ticket = None
    agent = agent_with_email(call.uow.agents(), sender)
    message_id = call.new_id()
    if agent is not None:
        if ticket is None:
            return set_aside(
                call, mail, raw, key, "quarantined", "refused",
                f"mail from agent {agent.id} belongs to no ticket it may reply to",
            )  # fmt: skip
        if not runner.view(call.uow, agent.as_actor(), call.at).may("ticket.reply", ticket):
            return set_aside(
                call, mail, raw, key, "quarantined", "refused",
                f"agent {agent.id} may not reply on ticket {ticket.number}",
            )  # fmt: skip
        call.authorise("ticket.reply", ticket)
        change = call.track(ticket)
        text = with_notes(mail.reply_text or mail.text, mail)
        change.add(
            lambda seq: Replied(
                ticket_id=ticket.id, seq=seq, at=call.at, actor=agent.id,
                message_id=message_id, body=text, channel=MAIL_CHANNEL,
            )
        )  # fmt: skip
        return filed(call, mail, key, "appended", ticket.id, None, message_id, runner.new_id)
    customer = find_or_create_customer(runner, call, sender, mail.sender_name)
    if ticket is not None and may_append(ticket, customer):
        call.authorise("ticket.reply", ticket)
        change = call.track(ticket)
        text = with_notes(mail.reply_text or mail.text, mail)
        change.add(
            lambda seq: CustomerMessaged(
                ticket_id=ticket.id, seq=seq, at=call.at, actor=customer.id,
                message_id=message_id, body=text, channel=MAIL_CHANNEL,
            )
        )  # fmt: skip
        workflow = runner.config.workflow
        resume = workflow.resume_status()
        if change.ticket.status in workflow.pause_statuses and resume is not None:
            status_event(runner, change, SYSTEM, resume, call.at, "customer replied")
        return filed(call, mail, key, "appended", ticket.id, customer.id, message_id, runner.new_id)
    change = open_from(
        runner,
        rules,
        call,
        author=customer.id,
        customer=customer,
        subject=mail.subject,
        description=with_notes(mail.text, mail),
        channel=MAIL_CHANNEL,
    )
    acknowledge(runner, call, change.ticket, customer, sender, ack_limit, mail.message_id)
    return filed(call, mail, key, "created", change.ticket.id, customer.id, None, runner.new_id)


def filed(
    call: Call,
    mail: InboundMail,
    key: str,
    outcome: str,
    ticket_id: str,
    customer_id: str | None,
    message_id: str | None,
    new_id: Callable[[], str],
) -> IntakeRecord:
    attach(call, ticket_id, message_id, mail, new_id)
    if mail.message_id:
        call.uow.index_message_id(message_key(mail.message_id), ticket_id)
    return IntakeRecord(
        id=call.new_id(),
        at=call.at,
        channel=MAIL_CHANNEL,
        outcome=outcome,  # type: ignore[arg-type]
        dedupe_key=key,
        message_id=mail.message_id,
        sender=mail.sender,
        subject=one_line(mail.subject),
        ticket_id=ticket_id,
        customer_id=customer_id,
    )


# -- the web form -------------------------------------------------------------------------------
WEB_FIELDS: Final = (
    "email", "name", "subject", "body", "phone", "type", "priority", "idempotency_key"
)  # fmt: skip
MAX_IDEMPOTENCY_KEY: Final = 200
_IDEMPOTENCY_KEY: Final = re.compile(rf"[!-~]{{1,{MAX_IDEMPOTENCY_KEY}}}")
"""1 to 200 visible ASCII characters (a UUID, a client's request id...)."""


@attrs.frozen
class WebForm:
    """A validated web form."""

    email: str
    name: str
    subject: str
    body: str
    phone: str | None = None
    type: str | None = None
    priority: str | None = None
    idempotency_key: str | None = None

    def content(self) -> bytes:
        """The form's fields (not its key) as canonical JSON: what a redelivery must repeat."""
        fields = attrs.asdict(self, filter=lambda a, _: a.name != "idempotency_key")
        text = json.dumps(fields, sort_keys=True, ensure_ascii=False)
        return text.encode("utf-8", errors="surrogatepass")

    def dedupe_key(self) -> str | None:
        """``web:<sender's email key>:<idempotency key>``: a key is the sender's own, so two
        customers using the same key never meet. None without a key (no deduplication)."""
        if self.idempotency_key is None:
            return None
        return f"web:{email_key(self.email)}:{self.idempotency_key}"


def web_form(runner: Runner, payload: object) -> WebForm:
    """The payload validated at the door: ValidationError names ``payload.<field>``."""
    if not isinstance(payload, Mapping):
        raise ValidationError(
            "payload", f"must be a mapping of fields, got {type(payload).__name__}"
        )
    for name in payload:
        if name not in WEB_FIELDS:
            raise ValidationError(
                f"payload.{name}", f"is not a form field; fields: {list(WEB_FIELDS)}"
            )
    cfg = runner.config
    values: dict[str, Any] = {}
    for name, limit in (("email", check.MAX_LINE), ("name", check.MAX_NAME),
                        ("subject", check.MAX_LINE), ("body", check.MAX_TEXT)):  # fmt: skip
        if name not in payload:
            raise ValidationError(f"payload.{name}", "is required")
        values[name] = check.text(payload[name], f"payload.{name}", limit=limit).strip()
    if "\n" in values["subject"] or "\r" in values["subject"] or "\n" in values["name"]:
        field = "subject" if "\n" in values["subject"] or "\r" in values["subject"] else "name"
        raise ValidationError(f"payload.{field}", "must be one line")
    try:
        values["email"] = check_emails([values["email"]])[0]
    except ValidationError:
        raise ValidationError(
            "payload.email", f"is not an email address: {values['email']!r}"
        ) from None
    if payload.get("phone") is not None:
        try:
            values["phone"] = check_phones(
                [check.text(payload["phone"], "payload.phone", limit=40)]
            )[0]
        except ValidationError:
            raise ValidationError(
                "payload.phone", f"is not a phone number: {payload['phone']!r}"
            ) from None
    key = payload.get("idempotency_key")
    if key is not None:
        if not isinstance(key, str) or not _IDEMPOTENCY_KEY.fullmatch(key):
            raise ValidationError(
                "payload.idempotency_key",
                f"must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters (no spaces), "
                f"got {key!r}"[:300],
            )
        values["idempotency_key"] = key
    for name, allowed in (("type", cfg.ticket_types), ("priority", cfg.priorities)):
        value = payload.get(name)
        if value is not None:
            if not isinstance(value, str) or value not in allowed:
                raise ValidationError(
                    f"payload.{name}", f"must be one of {list(allowed)}, got {value!r}"
                )
            values[name] = value
    return WebForm(**values)


def submit_web_form(
    runner: Runner,
    rules: TicketRules,
    channels: Mapping[str, Channel],
    payload: Mapping[str, Any],
    *,
    now: datetime | None,
) -> IngestResult:
    form = web_form(runner, payload)
    at = runner.now(now)
    channel = channels.get(MAIL_CHANNEL)
    limit = channel.acknowledgements_per_hour if isinstance(channel, MailChannel) else 3
    content = form.content()
    digest = hashlib.sha256(content).hexdigest()
    keyed = form.dedupe_key()

    def body(call: Call) -> IngestResult:
        if keyed is not None:
            existing = call.uow.intake_by_key(keyed)
            if existing is not None:
                if existing.raw != content:
                    raise ValidationError(
                        "payload.idempotency_key",
                        "was used by this sender for an earlier, different form; "
                        "use a new key for a new form",
                    )
                return existing.result(duplicate=True)
        customer = find_or_create_customer(runner, call, form.email, form.name, form.phone)
        change = open_from(
            runner,
            rules,
            call,
            author=customer.id,
            customer=customer,
            subject=form.subject,
            description=form.body,
            channel=WEB_CHANNEL,
            ticket_type=form.type,
            priority=form.priority,
        )
        acknowledge(runner, call, change.ticket, customer, form.email, limit)
        record = IntakeRecord(
            id=call.new_id(),
            at=call.at,
            channel=WEB_CHANNEL,
            outcome="created",
            dedupe_key=keyed or f"web:{call.new_id()}|{digest}",
            sender=form.email,
            subject=one_line(form.subject),
            ticket_id=change.ticket.id,
            customer_id=customer.id,
            raw=None if keyed is None else content,
        )
        if not call.uow.add_intake(record):  # a concurrent submission with the key came first
            raise ConcurrencyConflict(f"intake {keyed}", 0, 1)
        return record.result()

    return runner.run(SYSTEM, "intake.web_form", None, at, body)


# -- agents' views --------------------------------------------------------------------------
def intake_records(
    runner: Runner,
    actor: Actor,
    *,
    outcome: str | None,
    limit: int,
    now: datetime | None,
) -> list[IntakeRecord]:
    """Ignored and quarantined records (or those of ``outcome``), newest first."""
    if outcome is not None and outcome not in ("created", "appended", *LISTED_BY_DEFAULT):
        raise ValidationError("outcome", f"must be an ingest outcome, got {outcome!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValidationError("limit", f"must be an integer from 1 to {MAX_PAGE}, got {limit!r}")

    def body(call: Call) -> list[IntakeRecord]:
        call.authorise("intake.view")
        outcomes = LISTED_BY_DEFAULT if outcome is None else (outcome,)
        return call.uow.intake_records(outcomes, limit)

    return runner.run(actor, "intake.view", None, now, body)


def promote_intake(
    runner: Runner,
    rules: TicketRules,
    channels: Mapping[str, Channel],
    actor: Actor,
    record_id: str,
    *,
    now: datetime | None,
) -> Ticket:
    """A ticket from an ignored or quarantined record (``intake.view`` and ``ticket.create``);
    the sender becomes (or is found as) the requester; no acknowledgement is sent."""
    check.ident(record_id, "record_id")
    channel = mail_channel(channels)

    def body(call: Call) -> Ticket:
        call.authorise("intake.view", target=f"intake:{record_id}")
        record = call.uow.get_intake(record_id)
        if record is None:
            raise NotFound("intake record", record_id)
        if record.outcome not in LISTED_BY_DEFAULT:
            raise ValidationError("record_id", f"{record_id} is {record.outcome}: it has a ticket")
        if record.promoted_to is not None:
            raise ValidationError(
                "record_id", f"{record_id} was already promoted to ticket {record.promoted_to}"
            )
        call.authorise("ticket.create")
        mail = read_mail(channel, record.raw or b"", call.at)
        text = mail.text or (record.raw or b"").decode("utf-8", errors="replace")
        customer = None
        if mail.sender is not None:
            customer = find_or_create_customer(runner, call, mail.sender, mail.sender_name)
        change = open_from(
            runner,
            rules,
            call,
            author=actor.id,
            customer=customer,
            subject=mail.subject or record.subject,
            description=with_notes(text, mail),
            channel=MAIL_CHANNEL,
        )
        attach(call, change.ticket.id, None, mail, runner.new_id)
        if mail.message_id:
            call.uow.index_message_id(message_key(mail.message_id), change.ticket.id)
        if not call.uow.promote_intake(record_id, change.ticket.id):
            raise ConcurrencyConflict(f"intake {record_id}", 0, 1)
        return call.view.present(change.ticket)

    return runner.run(actor, "intake.view", record_id, now, body)


def attachment(
    runner: Runner, actor: Actor, ticket_id: str, attachment_id: str, *, now: datetime | None
) -> Attachment:
    """An attachment of a ticket the actor may view; NotFound for hidden and missing alike."""
    check.ident(ticket_id, "ticket_id")
    check.ident(attachment_id, "attachment_id")

    def body(call: Call) -> Attachment:
        call.load_visible(ticket_id, "ticket.view")
        found = call.uow.get_attachment(ticket_id, attachment_id)
        if found is None:
            raise NotFound("attachment", attachment_id)
        return found

    return runner.run(actor, "ticket.view", ticket_id, now, body)
