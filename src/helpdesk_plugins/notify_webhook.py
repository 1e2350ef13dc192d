"""The webhook notifier: each notification POSTed as JSON, signed, over httpx (the ``webhook``
extra).

Enabled by a ``[webhook]`` table::

    [webhook]
    url = "https://hooks.example.com/helpdesk"
    secret_env = "HELPDESK_WEBHOOK_SECRET"   # the HMAC key comes from this variable
    timeout = 10.0                           # seconds for the whole request
    events = ["replied", "status_changed"]   # optional: only these event kinds

The body is the notification as compact JSON (UTF-8, keys sorted). The header
``X-Helpdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` signs it; the
receiver recomputes the HMAC with the shared secret and rejects stale timestamps
(:func:`verify_signature`). ``Idempotency-Key`` carries the notification key, so a receiver drops
redeliveries. A non-2xx answer or a timeout raises, and the outbox retries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

import attrs

from helpdesk_core.config import (
    ConfigContext,
    HelpdeskConfig,
    SectionRegistrar,
    config_keys,
    table,
)
from helpdesk_core.errors import ConfigError, PluginError
from helpdesk_core.hookspecs import hookimpl
from helpdesk_core.ports import Notification, Notifier

SIGNATURE_HEADER: Final = "X-Helpdesk-Signature"
DEFAULT_SECRET_ENV: Final = "HELPDESK_WEBHOOK_SECRET"
_KEYS: Final = frozenset({"url", "secret_env", "timeout", "events"})


@attrs.frozen
class WebhookSettings:
    """The parsed ``[webhook]`` section."""

    url: str
    secret_env: str = DEFAULT_SECRET_ENV
    timeout: float = 10.0
    events: tuple[str, ...] = ()
    """Event kinds to post; empty means all."""


@config_keys({"webhook": _KEYS})
def parse_webhook_config(value: Any, path: str, context: ConfigContext) -> WebhookSettings:
    """Parse ``[webhook]``; errors are ConfigErrors naming the key path."""
    value = table(value, path, _KEYS)
    url = value.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"{path}.url", "must be an http:// or https:// URL", url)
    secret_env = value.get("secret_env", DEFAULT_SECRET_ENV)
    if not isinstance(secret_env, str) or not secret_env:
        raise ConfigError(f"{path}.secret_env", "must name an environment variable", secret_env)
    timeout = value.get("timeout", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"{path}.timeout", "must be a positive number of seconds", timeout)
    events = value.get("events", [])
    if isinstance(events, str) or not isinstance(events, list):
        raise ConfigError(f"{path}.events", "must be a list of event kinds", events)
    for i, kind in enumerate(events):
        if not isinstance(kind, str) or not kind:
            raise ConfigError(f"{path}.events[{i}]", "must be an event kind", kind)
    return WebhookSettings(url, secret_env, float(timeout), tuple(events))


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header value ``t=<timestamp>,v1=<hex HMAC-SHA256(secret, "t.body")>``."""
    mac = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: bytes, header: str, body: bytes, *, now: float, tolerance: float = 300.0
) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and its timestamp is within
    ``tolerance`` seconds of ``now`` (a receiver's check; constant-time comparison)."""
    fields: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, val = item.strip().partition("=")
        fields.setdefault(key, []).append(val)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).partition(",v1=")[2]
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))


def notification_json(notification: Notification) -> bytes:
    """The request body: the notification as compact, key-sorted UTF-8 JSON."""
    document = {
        "key": notification.key,
        "recipient": notification.recipient,
        "subject": notification.subject,
        "body": notification.body,
        "event_kind": notification.event_kind,
        "ticket_id": notification.ticket_id,
        "data": notification.data,
    }
    return json.dumps(
        document, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    ).encode("utf-8")


class WebhookNotifier:
    """POSTs each notification, signed; raises on a non-2xx answer or a transport error."""

    name = "webhook"

    def __init__(
        self,
        settings: WebhookSettings,
        secret: bytes,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        try:
            import httpx
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise PluginError(
                "the webhook notifier needs httpx: pip install 'helpdesk-core[webhook]'"
            ) from exc
        if not secret:
            raise ConfigError("webhook.secret_env", "the webhook secret must not be empty")
        self.settings = settings
        self.secret = secret
        self.clock = clock
        self.client = httpx.Client(timeout=settings.timeout, follow_redirects=False)

    @classmethod
    def from_config(cls, config: HelpdeskConfig) -> WebhookNotifier | None:
        settings = config.sections.get("webhook")
        if not isinstance(settings, WebhookSettings):
            return None
        secret = os.environ.get(settings.secret_env)
        if not secret:
            raise ConfigError(
                "webhook.secret_env", f"environment variable {settings.secret_env} is not set"
            )
        return cls(settings, secret.encode("utf-8"))

    def send(self, notification: Notification) -> None:
        if self.settings.events and notification.event_kind not in self.settings.events:
            return
        body = notification_json(notification)
        timestamp = int(self.clock())
        response = self.client.post(
            self.settings.url,
            content=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                SIGNATURE_HEADER: sign(self.secret, timestamp, body),
                "Idempotency-Key": notification.key,
            },
        )
        response.raise_for_status()

    def close(self) -> None:
        self.client.close()


@hookimpl(trylast=True)
def helpdesk_register_config_sections(register: SectionRegistrar) -> None:
    register("webhook", parse_webhook_config)


@hookimpl(trylast=True)
def helpdesk_register_notifiers(config: HelpdeskConfig) -> Iterable[Notifier] | None:
    notifier = WebhookNotifier.from_config(config)
    return [notifier] if notifier is not None else None
