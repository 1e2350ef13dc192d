"""The email channel: parse inbound mail (stdlib ``email``, ``policy.default``), classify
automated mail, bounces and loops, and thread replies; settings in ``[email]``.

Registered through ``helpdesk_register_channels`` as the channel ``email``.
"""

from __future__ import annotations

from helpdesk_plugins.channel_email.channel import EmailChannel
from helpdesk_plugins.channel_email.message_ids import (
    is_own_message_id,
    make_message_id,
    ticket_of_message_id,
)
from helpdesk_plugins.channel_email.parse import (
    Attachment,
    Classification,
    ParsedEmail,
    RejectedAttachment,
    parse_email,
)
from helpdesk_plugins.channel_email.settings import (
    EmailSettings,
    SmtpSettings,
    email_settings,
    parse_email_config,
)

__all__ = [
    "Attachment",
    "Classification",
    "EmailChannel",
    "EmailSettings",
    "ParsedEmail",
    "RejectedAttachment",
    "SmtpSettings",
    "email_settings",
    "is_own_message_id",
    "make_message_id",
    "parse_email",
    "parse_email_config",
    "ticket_of_message_id",
]
