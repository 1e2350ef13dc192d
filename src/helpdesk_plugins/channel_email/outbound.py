"""A :class:`~helpdesk_core.ports.Notification` rendered as a MIME message, ready for SMTP.

What every outbound mail carries:

- ``From`` from ``[email] from``; ``To`` the recipient's address and name;
- a subject with the ticket token ``[#<number>]``, from the template of the event kind and the
  recipient's locale (:mod:`.templates`);
- ``Message-ID`` in our first domain, derived from the notification key (a redelivery has the
  same id); ``In-Reply-To``/``References``: the customer mail being answered (``data
  ["in_reply_to"]``, ``data["references"]``) and the ticket's thread root, so clients thread all
  of a ticket's mail together;
- ``X-Loop`` with our address (a copy that comes back is recognised as a loop);
- ``Auto-Submitted: auto-generated`` (``auto-replied`` for acknowledgements) and
  ``X-Auto-Response-Suppress: All`` on automated mail; an agent's reply carries neither;
- no CR, LF, NUL or other control character from data in any header (they become spaces);
- for a recipient whose role may not read customers' contact details in clear
  (``Recipient.mask_contacts``, set by the address book), email addresses and phone numbers in
  the subject and text are masked the way the permission matrix masks them (``exa***@domain``,
  ``138****5678``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Final

import attrs

from helpdesk_core.permissions import mask_email, mask_mobile
from helpdesk_core.ports import Notification
from helpdesk_plugins.channel_email.message_ids import make_message_id
from helpdesk_plugins.channel_email.settings import EmailSettings
from helpdesk_plugins.channel_email.templates import TEMPLATES, Template, render, template_for

HUMAN_KINDS: Final = frozenset({"replied"})
"""Event kinds whose mail an agent wrote: no Auto-Submitted."""
ACKNOWLEDGEMENT_KINDS: Final = frozenset({"ticket_created"})
"""Automatic answers to a customer's message (RFC 3834 ``auto-replied``)."""

_UNSAFE: Final = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_NUMBERED: Final = re.compile(r"^\s*\[#?([^\]\s]{1,40})\]\s*(.*)$", re.DOTALL)
_MSGID: Final = re.compile(r"<?([^<>\s]{1,998}@[^<>\s]{1,255})>?")
_EMAIL_IN_TEXT: Final = re.compile(r"[\w.%+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
_PHONE_IN_TEXT: Final = re.compile(r"(?<![\w+])\+?\d(?:[ ()-]{0,2}\d){6,16}(?!\w)")
"""Seven or more digits, with separators and an optional ``+``, not inside a word (so ticket
numbers such as ``T20261102000001`` are left alone)."""
_DATE: Final = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
"""An ISO date, which the phone pattern also matches: left alone."""


@attrs.frozen
class Recipient:
    """Where a notification goes: an address, a display name and a locale."""

    address: str
    name: str = ""
    locale: str | None = None
    mask_contacts: bool = False
    """Mask email addresses and phone numbers in what this recipient is sent (their role may
    not read customers' contact details, ``customer.view_contact``)."""


def header_safe(value: Any) -> str:
    """``value`` as one header line: control characters (CR, LF, NUL...) become one space."""
    return _UNSAFE.sub(" ", str(value)).strip()


def mask_contacts(text: str) -> str:
    """``text`` with every email address and phone number masked (R-CUS-2 masking)."""
    text = _EMAIL_IN_TEXT.sub(lambda m: mask_email(m[0]), text)
    return _PHONE_IN_TEXT.sub(lambda m: m[0] if _DATE.fullmatch(m[0]) else mask_mobile(m[0]), text)


def template_fields(notification: Notification, settings: EmailSettings) -> dict[str, str]:
    """The fields templates may use, from the notification and its ``data``."""
    data = notification.data
    number = str(data.get("number") or "")
    subject = str(data.get("ticket_subject") or "")
    numbered = _NUMBERED.match(notification.subject)
    if numbered and not number:
        number = numbered[1]
    if not subject:
        subject = numbered[2] if numbered else notification.subject
    return {
        "number": header_safe(number),
        "subject": header_safe(subject),
        "body": notification.body,
        "status": header_safe(data.get("to_status") or data.get("status") or ""),
        "reason": str(data.get("reason") or notification.body),
        "desk": settings.from_name or settings.from_address,
    }


def _ids(value: Any) -> list[str]:
    items = value if isinstance(value, list | tuple) else [value] if value else []
    found = []
    for item in items:
        match = _MSGID.fullmatch(header_safe(item))
        if match:
            found.append(f"<{match[1]}>")
    return found


def render_email(
    notification: Notification,
    recipient: Recipient,
    settings: EmailSettings,
    *,
    now: datetime,
    templates: Mapping[tuple[str, str], Template] = TEMPLATES,
) -> EmailMessage:
    """The MIME message for ``notification`` to ``recipient`` (rules in the module docstring)."""
    locale = recipient.locale or settings.locale
    fields = template_fields(notification, settings)
    if recipient.mask_contacts:
        for key in ("subject", "body", "reason"):
            fields[key] = mask_contacts(fields[key])
    subject, body = render(template_for(notification.event_kind, locale, templates), fields)
    domain = settings.domains[0]
    message = EmailMessage()
    message["From"] = Address(
        display_name=header_safe(settings.from_name),
        addr_spec=header_safe(settings.from_address),
    )
    message["To"] = Address(
        display_name=header_safe(recipient.name), addr_spec=header_safe(recipient.address)
    )
    message["Subject"] = header_safe(subject)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{make_message_id(notification.key, domain, notification.ticket_id)}>"
    thread: list[str] = []
    if notification.ticket_id:
        root = make_message_id(f"thread:{notification.ticket_id}", domain, notification.ticket_id)
        thread.append(f"<{root}>")
    answered = _ids(notification.data.get("in_reply_to"))
    thread.extend(_ids(notification.data.get("references")))
    thread.extend(answered)
    thread = list(dict.fromkeys(thread))
    if thread:
        message["In-Reply-To"] = answered[-1] if answered else thread[-1]
        message["References"] = " ".join(thread)
    message["X-Loop"] = settings.from_address
    if notification.event_kind not in HUMAN_KINDS:
        kind = (
            "auto-replied" if notification.event_kind in ACKNOWLEDGEMENT_KINDS else "auto-generated"
        )
        message["Auto-Submitted"] = kind
        message["X-Auto-Response-Suppress"] = "All"
    message["X-Helpdesk-Event"] = header_safe(notification.event_kind)
    message.set_content(body.replace("\x00", ""), charset="utf-8")
    return message
