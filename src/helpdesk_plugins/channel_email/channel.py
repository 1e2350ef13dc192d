"""The ``email`` channel plugin: raw mail in, an :class:`InboundMessage` out (or None for mail
that must make no ticket: automated, bounces, loops, unusable), and the full
:class:`~helpdesk_core.model.intake.InboundMail` ``desk.ingest_email`` files."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from helpdesk_core.config import HelpdeskConfig, SectionRegistrar
from helpdesk_core.hookspecs import hookimpl
from helpdesk_core.model.intake import InboundMail, MailPart
from helpdesk_core.ports import Channel, InboundMessage
from helpdesk_plugins.channel_email.message_ids import ticket_of_message_id
from helpdesk_plugins.channel_email.parse import ParsedEmail, parse_email
from helpdesk_plugins.channel_email.settings import (
    EmailSettings,
    email_settings,
    parse_email_config,
)


class EmailChannel:
    """Parses raw RFC 5322 mail with the desk's ``[email]`` settings."""

    name = "email"

    def __init__(self, settings: EmailSettings | None = None) -> None:
        self.settings = settings or EmailSettings()
        self.acknowledgements_per_hour = self.settings.ack_limit_per_hour

    def parse_mail(self, raw: bytes, now: datetime) -> InboundMail:
        """The full reading the desk files (:class:`~helpdesk_core.ports.MailChannel`): our own
        Message-IDs among the thread ids are resolved to their tickets here, where their format
        is known."""
        parsed = self.parse_email(raw)
        sent: dict[str, str] = {}
        for message_id in parsed.thread_ids:
            ticket = ticket_of_message_id(message_id, self.settings.domains)
            if ticket is not None:
                sent[message_id] = ticket
        return InboundMail(
            sha256=parsed.sha256,
            message_id=parsed.message_id,
            sender=parsed.sender,
            sender_name=parsed.sender_name,
            cc=parsed.cc,
            to=parsed.to,
            subject=parsed.subject,
            text=parsed.text,
            reply_text=parsed.reply_text,
            thread_ids=parsed.thread_ids,
            sent_tickets=sent,
            ticket_token=parsed.ticket_token,
            attachments=tuple(
                MailPart(a.filename, a.content_type, a.content) for a in parsed.attachments
            ),
            rejected_attachments=tuple(
                f"{r.filename} ({r.content_type}, {r.size} bytes): {r.reason}"
                for r in parsed.rejected_attachments
            ),
            reason=parsed.reason,
            detail=parsed.classification.detail if parsed.classification else None,
        )

    def parse_email(self, raw: bytes) -> ParsedEmail:
        """The full parse (text, reply text, attachments, classification); never raises."""
        return parse_email(raw, self.settings)

    def parse(self, raw: bytes, now: datetime) -> InboundMessage | None:
        parsed = self.parse_email(raw)
        if parsed.classification is not None or parsed.sender is None:
            return None
        headers = {
            "message-id": parsed.message_id or "",
            "in-reply-to": " ".join(parsed.in_reply_to),
            "references": " ".join(parsed.references),
            "sender-name": parsed.sender_name,
            "sha256": parsed.sha256,
        }
        return InboundMessage(
            channel=self.name,
            sender=parsed.sender,
            subject=parsed.subject,
            body=parsed.text,
            received_at=now,
            thread_key=parsed.ticket_token,
            headers={k: v for k, v in headers.items() if v},
        )


@hookimpl(trylast=True)
def helpdesk_register_config_sections(register: SectionRegistrar) -> None:
    register("email", parse_email_config)


@hookimpl(trylast=True)
def helpdesk_register_channels(config: HelpdeskConfig) -> Iterable[Channel] | None:
    return [EmailChannel(email_settings(config))]
