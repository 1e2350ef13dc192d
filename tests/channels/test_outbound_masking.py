"""Contact details in outbound mail follow the recipient's role (issue 23, R-CUS-2): the desk's
outbox dispatch resolves each recipient (an agent of the directory, a customer record) and masks
customers' addresses and numbers for a recipient who may not read them
(``customer.view_contact``, as the facade decides for customer profiles), against a real SMTP
peer (aiosmtpd on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any

import pytest

from helpdesk_core import Actor, Agent, Helpdesk
from helpdesk_core.ports import Notification
from helpdesk_core.testing import FixedClock
from helpdesk_plugins.notify_smtp import default_address_book

if TYPE_CHECKING:  # the fixtures' types, from tests/channels/conftest.py
    from conftest import SmtpServer

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
ADMIN = Actor(id="root", roles={"admin"})
PHONE, EMAIL = "13812345678", "li.si@customer.cn"
CONTACTS = f"Call me on {PHONE} or write to {EMAIL}."


def config(server: SmtpServer) -> dict[str, Any]:
    return {
        "desk": {"default_team": "after-sales"},
        "email": {
            "from": "Example Support <support@example.com>",
            "domains": ["example.com"],
            "locale": "en",
            "smtp": {"host": server.host, "port": server.port, "security": "none"},
        },
        "custom_fields": {"callback_phone": {"type": "text", "pii": "mobile"}},
        "storage": {"encryption": "off"},  # a contact field, stored in clear for this test
        "permissions": {
            "roles": ["contractor", "reviewer"],
            "rules": [
                {
                    "id": "contractors-no-contacts",
                    "roles": ["contractor"],
                    "actions": ["customer.view_contact"],
                    "effect": "deny",
                    "description": "outside contractors never read customers' contacts",
                },
                {
                    "id": "reviewers-read",
                    "roles": ["reviewer"],
                    "actions": ["ticket.view", "customer.view_contact"],
                    "description": "reviewers read tickets; their field rules mask the phone",
                },
            ],
            "fields": {"reviewer": {"masked": ["custom.callback_phone"]}},
        },
    }


@pytest.fixture
def desk(store_url: str, smtp_server: SmtpServer) -> Iterator[Helpdesk]:
    with Helpdesk(
        config(smtp_server), store_url, clock=FixedClock(NOW), load_entrypoints=False
    ) as d:
        for agent in (
            Agent("a-1", "Wang Wu", team="after-sales", emails=["wang@example.com"]),
            Agent(
                "c-1",
                "Zhao Liu",
                team="after-sales",
                roles={"agent", "contractor"},
                emails=["zhao@contractor.example"],
            ),
            Agent("r-1", "Qian Qi", roles={"reviewer"}, emails=["qian@example.com"]),
        ):
            d.save_agent(ADMIN, agent)
        yield d


def mail(body: str, message_id: str, subject: str = "Parcel arrived broken") -> bytes:
    return (
        "From: Zhang San <zhang@customer.cn>\r\nTo: support@example.com\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{message_id}>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


def inbox(server: SmtpServer, kind: str | None = None) -> dict[str, list[EmailMessage]]:
    """The mail the peer accepted (of one event kind), by recipient address."""
    found: dict[str, list[EmailMessage]] = {}
    for _, recipients, content in server.mailbox.messages:
        message = BytesParser(policy=policy.default).parsebytes(content)
        assert isinstance(message, EmailMessage)
        if kind is None or message["X-Helpdesk-Event"] == kind:
            for address in recipients:
                found.setdefault(address, []).append(message)
    return found


def customer_writes_to(desk: Helpdesk, assignee: str) -> str:
    """A customer's ticket, assigned to ``assignee``, then the customer's follow-up mail with
    their phone number and a colleague's address; returns the ticket number."""
    created = desk.ingest_email(mail("The cup is broken.", "m-1@customer.cn"))
    assert created.ticket_id is not None
    ticket = desk.assign(ADMIN, created.ticket_id, assignee)
    follow_up = mail(CONTACTS, "m-2@customer.cn", f"Re: [#{ticket.number}] Parcel arrived broken")
    assert desk.ingest_email(follow_up).outcome == "appended"
    desk.dispatch_outbox()
    return ticket.number


def test_an_assignee_whose_role_may_not_read_contacts_gets_them_masked(
    desk: Helpdesk, smtp_server: SmtpServer
) -> None:
    number = customer_writes_to(desk, "c-1")
    [notice] = inbox(smtp_server, "customer_messaged")["zhao@contractor.example"]
    text = notice.get_content()
    assert notice["Subject"] == f"[#{number}] New customer message: Parcel arrived broken"
    assert "138****5678" in text and "li.***@customer.cn" in text
    assert PHONE not in text and EMAIL not in text
    assert notice["To"].addresses[0].display_name == "Zhao Liu"


def test_an_assignee_who_may_read_contacts_gets_them_in_clear(
    desk: Helpdesk, smtp_server: SmtpServer
) -> None:
    """The default agent role reads the contacts of its own tickets (rule agent-contact-own)."""
    customer_writes_to(desk, "a-1")
    [notice] = inbox(smtp_server, "customer_messaged")["wang@example.com"]
    assert CONTACTS in notice.get_content()


def test_field_rules_that_mask_a_contact_field_mask_contacts_in_mail(
    desk: Helpdesk, smtp_server: SmtpServer
) -> None:
    """The reviewer may read contacts (customer.view_contact) but its field rules mask the
    callback phone, a contact field (pii = "mobile"): what the facade shows it masked, its mail
    shows masked too."""
    customer_writes_to(desk, "r-1")
    [notice] = inbox(smtp_server, "customer_messaged")["qian@example.com"]
    text = notice.get_content()
    assert "138****5678" in text and PHONE not in text


def test_the_customer_reads_their_own_contacts_in_clear(
    desk: Helpdesk, smtp_server: SmtpServer
) -> None:
    """The requester is a customer record (made from their first mail): the acknowledgement and
    an agent's reply go to its address, nothing masked."""
    created = desk.ingest_email(mail(CONTACTS, "m-1@customer.cn", f"Call {PHONE}"))
    assert created.ticket_id is not None
    desk.assign(ADMIN, created.ticket_id, "c-1")
    contractor = Actor(id="c-1", roles={"agent", "contractor"}, team="after-sales")
    desk.reply(contractor, created.ticket_id, f"We will call {PHONE} tomorrow.")
    desk.dispatch_outbox()
    [acknowledgement] = inbox(smtp_server, "ticket_created")["zhang@customer.cn"]
    [reply] = inbox(smtp_server, "replied")["zhang@customer.cn"]
    [status] = inbox(smtp_server, "status_changed")["zhang@customer.cn"]
    assert acknowledgement["Auto-Submitted"] == "auto-replied"
    assert acknowledgement["Subject"].endswith(f"We received your request: Call {PHONE}")
    assert f"We will call {PHONE} tomorrow." in reply.get_content()
    assert status["Subject"].endswith(f"Call {PHONE}: now assigned")


def test_an_address_of_unknown_role_is_masked_by_default() -> None:
    """Nothing tells what may be shown to a bare address: contacts masked unless the desk's
    dispatch said the recipient may read them."""
    bare = Notification("k", "someone@example.net", "s", "b", "replied")
    told = Notification("k", "someone@example.net", "s", "b", "replied", data={
        "mask_contacts": False
    })  # fmt: skip
    assert (recipient := default_address_book(bare)) is not None and recipient.mask_contacts
    assert (recipient := default_address_book(told)) is not None and not recipient.mask_contacts
