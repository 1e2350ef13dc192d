"""The SMTP notifier: each notification as a mail (stdlib :mod:`smtplib`), STARTTLS or SSL and
AUTH as ``[email.smtp]`` says.

Enabled by an ``[email.smtp]`` table. Recipients are actor ids; an address book maps them to
:class:`~helpdesk_plugins.channel_email.outbound.Recipient` (address, name, locale, contact
masking). The desk's outbox dispatch resolves each recipient before any notifier sees it
(:mod:`helpdesk_core.service.recipients`: agents from the directory, customers from their
records, ``data["mask_contacts"]`` from the recipient's role and the permission matrix); the
default address book reads that ``data``, else takes a recipient id that is an address (masked
unless the data says otherwise: nothing tells what role such an address has). A recipient
without an address is skipped (logged): retrying would not give them one.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from helpdesk_core.config import HelpdeskConfig
from helpdesk_core.errors import ConfigError
from helpdesk_core.hookspecs import hookimpl
from helpdesk_core.ports import Notification, Notifier
from helpdesk_plugins.channel_email.outbound import Recipient, render_email
from helpdesk_plugins.channel_email.settings import EmailSettings, SmtpSettings, email_settings
from helpdesk_plugins.channel_email.templates import TEMPLATES, Template

log = logging.getLogger("helpdesk.notify.smtp")

AddressBook = Callable[[Notification], Recipient | None]


def default_address_book(notification: Notification) -> Recipient | None:
    """``data["email"]`` (with ``data["name"]``, ``data["locale"]``), else a recipient id that
    is itself an address; None otherwise. Contacts are masked unless ``data["mask_contacts"]``
    is ``False`` (what the desk's dispatch sets for a recipient whose role may read them)."""
    data = notification.data
    address = data.get("email")
    if not isinstance(address, str) or "@" not in address:
        address = notification.recipient if "@" in notification.recipient else None
    if address is None:
        return None
    name = data.get("name")
    locale = data.get("locale")
    return Recipient(
        address=address,
        name=name if isinstance(name, str) else "",
        locale=locale if isinstance(locale, str) else None,
        mask_contacts=data.get("mask_contacts") is not False,
    )


class SmtpNotifier:
    """Sends each notification as one mail; raises on SMTP failure (the outbox retries)."""

    name = "smtp"

    def __init__(
        self,
        settings: EmailSettings,
        *,
        address_book: AddressBook = default_address_book,
        password: str | None = None,
        templates: Mapping[tuple[str, str], Template] = TEMPLATES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if settings.smtp is None:
            raise ConfigError("email.smtp", "the SMTP notifier needs an [email.smtp] table")
        self.settings = settings
        self.smtp: SmtpSettings = settings.smtp
        self.address_book = address_book
        self.password = password
        self.templates = templates
        self.clock = clock

    @classmethod
    def from_config(cls, config: HelpdeskConfig) -> SmtpNotifier | None:
        """The notifier the config asks for (``[email.smtp]``), or None; the password is read
        from the environment variable ``password_env`` names."""
        settings = email_settings(config)
        if settings.smtp is None:
            return None
        password = None
        if settings.smtp.password_env:
            password = os.environ.get(settings.smtp.password_env)
            if password is None:
                raise ConfigError(
                    "email.smtp.password_env",
                    f"environment variable {settings.smtp.password_env} is not set",
                )
        return cls(settings, password=password)

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.smtp.ca_file)

    def _connect(self) -> smtplib.SMTP:
        smtp = self.smtp
        client: smtplib.SMTP
        if smtp.security == "ssl":
            client = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=smtp.timeout, context=self._tls()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        try:
            client.ehlo()
            if smtp.security == "starttls":
                client.starttls(context=self._tls())
                client.ehlo()
            if smtp.username is not None:
                client.login(smtp.username, self.password or "")
        except BaseException:
            client.close()
            raise
        return client

    def send(self, notification: Notification) -> None:
        recipient = self.address_book(notification)
        if recipient is None:
            log.warning(
                "no email address for %s; notification %s not mailed",
                notification.recipient,
                notification.key,
            )
            return
        message = render_email(
            notification, recipient, self.settings, now=self.clock(), templates=self.templates
        )
        client = self._connect()
        try:
            client.send_message(message)
        finally:
            try:
                client.quit()
            except smtplib.SMTPException:
                client.close()


@hookimpl(trylast=True)
def helpdesk_register_notifiers(config: HelpdeskConfig) -> Iterable[Notifier] | None:
    notifier = SmtpNotifier.from_config(config)
    return [notifier] if notifier is not None else None
