"""An SMS notifier for helpdesk_core: each notification POSTed to an HTTP SMS gateway.

A separately installable plugin (``pip install -e examples/helpdesk_sms_plugin``) found through
the ``helpdesk`` entry-point group. It registers the ``[sms]`` config section and, when the
section is present, the ``sms`` notifier:

- the phone number is ``notification.data["phone"]``, or a recipient id that is a phone number
  (``+`` and 6-15 digits); a recipient without one is skipped (retrying would not give one);
- the request is JSON ``{"to", "text", "reference"}``, authenticated by
  ``Authorization: Bearer <key>`` (the key from the variable ``api_key_env`` names) and carrying
  ``Idempotency-Key: <notification key>`` so the gateway drops redeliveries;
- a non-2xx answer or a timeout raises, so the desk's outbox retries with back-off.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from typing import Any, Final

import attrs
import httpx

from helpdesk_core import hookimpl
from helpdesk_core.config import ConfigContext, HelpdeskConfig, SectionRegistrar, table
from helpdesk_core.errors import ConfigError
from helpdesk_core.ports import Notification, Notifier

log = logging.getLogger("helpdesk.notify.sms")

DEFAULT_KEY_ENV: Final = "HELPDESK_SMS_API_KEY"
_KEYS: Final = frozenset({"url", "api_key_env", "timeout", "events", "max_length"})
_PHONE: Final = re.compile(r"^\+?[0-9]{6,15}$")
_TOKEN: Final = re.compile(r"^[\x21-\x7e]{1,4096}$")


@attrs.frozen
class SmsSettings:
    """The parsed ``[sms]`` section."""

    url: str
    api_key_env: str = DEFAULT_KEY_ENV
    timeout: float = 10.0
    events: tuple[str, ...] = ()
    """Event kinds to send; empty means all."""
    max_length: int = 280
    """Characters of text per message; longer text is cut with an ellipsis."""


def parse_sms_config(value: Any, path: str, context: ConfigContext) -> SmsSettings:
    """Parse ``[sms]``; errors are ConfigErrors naming the key path."""
    value = table(value, path, _KEYS)
    url = value.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"{path}.url", "must be an http:// or https:// URL", url)
    key_env = value.get("api_key_env", DEFAULT_KEY_ENV)
    if not isinstance(key_env, str) or not key_env:
        raise ConfigError(f"{path}.api_key_env", "must name an environment variable", key_env)
    timeout = value.get("timeout", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"{path}.timeout", "must be a positive number of seconds", timeout)
    events = value.get("events", [])
    if isinstance(events, str) or not isinstance(events, list):
        raise ConfigError(f"{path}.events", "must be a list of event kinds", events)
    for i, kind in enumerate(events):
        if not isinstance(kind, str) or not kind:
            raise ConfigError(f"{path}.events[{i}]", "must be an event kind", kind)
    length = value.get("max_length", 280)
    if isinstance(length, bool) or not isinstance(length, int) or not 20 <= length <= 1600:
        raise ConfigError(f"{path}.max_length", "must be 20..1600 characters", length)
    return SmsSettings(url, key_env, float(timeout), tuple(events), length)


def phone_of(notification: Notification) -> str | None:
    """``data["phone"]``, else a recipient id that is a phone number; None otherwise."""
    for candidate in (notification.data.get("phone"), notification.recipient):
        if isinstance(candidate, str):
            number = re.sub(r"[\s()-]", "", candidate)
            if _PHONE.match(number):
                return number
    return None


def sms_text(notification: Notification, limit: int) -> str:
    """One line: the subject, then the body, cut to ``limit`` characters."""
    text = " ".join(f"{notification.subject}: {notification.body}".split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SmsNotifier:
    """Posts each notification to the gateway; raises on a non-2xx answer or a timeout."""

    name = "sms"

    def __init__(self, settings: SmsSettings, api_key: str) -> None:
        if not api_key or not _TOKEN.match(api_key):
            raise ConfigError(
                "sms.api_key_env",
                "the SMS gateway API key must be non-empty printable ASCII without spaces",
            )
        self.settings = settings
        self.client = httpx.Client(
            timeout=settings.timeout,
            follow_redirects=False,
            headers={"Authorization": f"Bearer {api_key}"},
        )

    @classmethod
    def from_config(cls, config: HelpdeskConfig) -> SmsNotifier | None:
        settings = config.sections.get("sms")
        if not isinstance(settings, SmsSettings):
            return None
        key = os.environ.get(settings.api_key_env)
        if not key:
            raise ConfigError(
                "sms.api_key_env", f"environment variable {settings.api_key_env} is not set"
            )
        return cls(settings, key)

    def send(self, notification: Notification) -> None:
        if self.settings.events and notification.event_kind not in self.settings.events:
            return
        phone = phone_of(notification)
        if phone is None:
            log.info(
                "no phone number for %s; %s not texted", notification.recipient, notification.key
            )
            return
        body = json.dumps(
            {
                "to": phone,
                "text": sms_text(notification, self.settings.max_length),
                "reference": notification.key,
            },
            ensure_ascii=False,
        ).encode("utf-8")
        response = self.client.post(
            self.settings.url,
            content=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": notification.key,
            },
        )
        response.raise_for_status()

    def close(self) -> None:
        self.client.close()


@hookimpl
def helpdesk_register_config_sections(register: SectionRegistrar) -> None:
    register("sms", parse_sms_config)


@hookimpl
def helpdesk_register_notifiers(config: HelpdeskConfig) -> Iterable[Notifier] | None:
    notifier = SmsNotifier.from_config(config)
    return [notifier] if notifier is not None else None
