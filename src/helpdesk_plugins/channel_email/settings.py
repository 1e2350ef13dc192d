"""The ``[email]`` configuration section: who the desk is on the mail, what inbound mail may
carry, and (``[email.smtp]``) how outbound mail leaves.

Example (TOML)::

    [email]
    from = "Example Support <support@example.com>"   # From of every outbound mail
    domains = ["example.com"]                         # ours: X-Loop and own Message-IDs
    automated_allow = ["alerts@monitor.example.net", "@erp.example.com"]
    attachment_max_bytes = 10_000_000                 # per attachment
    attachment_total_bytes = 25_000_000               # per message
    attachment_types = ["image/*", "application/pdf", "text/*"]
    ack_limit_per_hour = 3                            # acknowledgements per address per hour
    locale = "zh-CN"                                  # templates of outbound mail

    [email.smtp]
    host = "smtp.example.com"
    security = "starttls"                             # "starttls", "ssl" or "none"
    username = "support@example.com"
    password_env = "HELPDESK_SMTP_PASSWORD"

    [email.imap]                                      # helpdesk mail poll (docs/email.md)
    host = "imap.example.com"
    user = "support@example.com"
    password_env = "HELPDESK_IMAP_PASSWORD"

The parser is the plain function :func:`parse_email_config` (``value, key path, whole raw
config``); importing this module registers it for the ``email`` key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import attrs

from helpdesk_core.config import ConfigContext, HelpdeskConfig, config_keys, table
from helpdesk_core.errors import ConfigError
from helpdesk_plugins.mail_intake.imap import IMAP_KEYS, ImapSettings, parse_imap_config

SMTP_SECURITY: Final = ("starttls", "ssl", "none")
LOCALES: Final = ("en", "zh-CN")
DEFAULT_PORTS: Final = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_FROM: Final = "helpdesk@localhost"

_ADDRESS: Final = re.compile(r"^[^@\s<>\"(),;:]+@[A-Za-z0-9.-]+\.?[A-Za-z0-9-]*$")
_NAMED: Final = re.compile(r'^\s*"?(?P<name>[^"<>]*?)"?\s*<(?P<addr>[^<>]+)>\s*$')
_DOMAIN: Final = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_MIME_PATTERN: Final = re.compile(
    r"^(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$"
)


@attrs.frozen
class SmtpSettings:
    """``[email.smtp]``: the submission server of the SMTP notifier."""

    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password_env: str | None = None
    """Environment variable holding the password (never the password itself in a file)."""
    timeout: float = 30.0
    """Seconds for connecting and for each SMTP command."""
    ca_file: str | None = None
    """PEM file of the CA that signed the server's certificate (a private CA); the system's
    trust store otherwise."""


@attrs.frozen
class EmailSettings:
    """The parsed ``[email]`` section (defaults when the section is absent)."""

    from_address: str = DEFAULT_FROM
    from_name: str = ""
    domains: tuple[str, ...] = ("localhost",)
    """Our mail domains: an X-Loop naming one, or our own Message-ID coming back, is a loop."""
    automated_allow: tuple[str, ...] = ()
    """Senders (``user@host``) or whole domains (``@host``) whose automated mail makes tickets."""
    attachment_max_bytes: int = 10_000_000
    attachment_total_bytes: int = 25_000_000
    attachment_types: tuple[str, ...] = ("*/*",)
    """Allowed attachment types as ``type/subtype`` patterns (``image/*``, ``*/*``)."""
    message_max_bytes: int = 50_000_000
    """Larger raw messages are quarantined unparsed."""
    ack_limit_per_hour: int = 3
    """Acknowledgements sent to one address per hour at most."""
    locale: str = "en"
    """Locale of outbound templates when the recipient has none."""
    smtp: SmtpSettings | None = None
    """``[email.smtp]``; the SMTP notifier is enabled only when this is set."""
    imap: ImapSettings | None = None
    """``[email.imap]``: the mailboxes ``helpdesk mail poll`` fetches from."""

    def allows_automated(self, address: str | None) -> bool:
        """True when ``address`` is on the ``automated_allow`` list (an address or ``@domain``)."""
        if not address:
            return False
        address = address.lower()
        domain = address.rpartition("@")[2]
        return any(
            entry == address or (entry.startswith("@") and entry[1:] == domain)
            for entry in self.automated_allow
        )


_KEYS: Final = frozenset(
    {
        "from",
        "domains",
        "automated_allow",
        "attachment_max_bytes",
        "attachment_total_bytes",
        "attachment_types",
        "message_max_bytes",
        "ack_limit_per_hour",
        "locale",
        "smtp",
        "imap",
    }
)
_SMTP_KEYS: Final = frozenset(
    {"host", "port", "security", "username", "password_env", "timeout", "ca_file"}
)


def parse_from(value: Any, path: str) -> tuple[str, str]:
    """``"Name <addr>"`` or ``"addr"`` as ``(address, display name)``; else a ConfigError."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(path, 'must be an address like "Support <support@example.com>"', value)
    if any(c in value for c in "\r\n\0"):
        raise ConfigError(path, "must not contain line breaks or NUL", value)
    named = _NAMED.match(value)
    name, address = (named["name"].strip(), named["addr"].strip()) if named else ("", value.strip())
    if not _ADDRESS.match(address):
        raise ConfigError(path, "is not an email address like support@example.com", value)
    return address.lower(), name


def _positive_int(value: Mapping[str, Any], key: str, path: str, default: int) -> int:
    item = value.get(key, default)
    if isinstance(item, bool) or not isinstance(item, int) or item < 1:
        raise ConfigError(f"{path}.{key}", "must be a positive integer", item)
    return item


def _strings(value: Mapping[str, Any], key: str, path: str) -> list[str]:
    items = value.get(key, [])
    if isinstance(items, str) or not isinstance(items, list):
        raise ConfigError(f"{path}.{key}", "must be a list of strings", items)
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"{path}.{key}[{i}]", "must be a non-empty string", item)
    return [item.strip().lower() for item in items]


def parse_smtp_config(value: Any, path: str) -> SmtpSettings:
    value = table(value, path, _SMTP_KEYS)
    kwargs: dict[str, Any] = {}
    for key in ("host", "username", "password_env", "ca_file"):
        if key in value:
            if not isinstance(value[key], str) or not value[key].strip():
                raise ConfigError(f"{path}.{key}", "must be a non-empty string", value[key])
            kwargs[key] = value[key].strip()
    security = value.get("security", "starttls")
    if security not in SMTP_SECURITY:
        raise ConfigError(f"{path}.security", f"must be one of {list(SMTP_SECURITY)}", security)
    kwargs["security"] = security
    port = value.get("port", DEFAULT_PORTS[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(f"{path}.port", "must be a TCP port 1-65535", port)
    kwargs["port"] = port
    timeout = value.get("timeout", 30.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"{path}.timeout", "must be a positive number of seconds", timeout)
    kwargs["timeout"] = float(timeout)
    if "password_env" in kwargs and "username" not in kwargs:
        raise ConfigError(f"{path}.username", "is required when password_env is set")
    return SmtpSettings(**kwargs)


@config_keys({"email": _KEYS, "email.smtp": _SMTP_KEYS, "email.imap": IMAP_KEYS})
def parse_email_config(value: Any, path: str, context: ConfigContext) -> EmailSettings:
    """Parse the ``[email]`` section; errors are ConfigErrors naming the key path."""
    value = table(value, path, _KEYS)
    kwargs: dict[str, Any] = {}
    if "from" in value:
        kwargs["from_address"], kwargs["from_name"] = parse_from(value["from"], f"{path}.from")
    from_domain = kwargs.get("from_address", DEFAULT_FROM).rpartition("@")[2]
    domains = _strings(value, "domains", path)
    for i, domain in enumerate(domains):
        if not _DOMAIN.match(domain):
            raise ConfigError(f"{path}.domains[{i}]", "is not a domain like example.com", domain)
    kwargs["domains"] = tuple(dict.fromkeys([from_domain, *domains]))
    allow = _strings(value, "automated_allow", path)
    for i, entry in enumerate(allow):
        if not (_ADDRESS.match(entry) or (entry.startswith("@") and _DOMAIN.match(entry[1:]))):
            raise ConfigError(
                f"{path}.automated_allow[{i}]",
                'must be an address ("alerts@example.net") or a domain ("@example.net")',
                entry,
            )
    kwargs["automated_allow"] = tuple(allow)
    if "attachment_types" in value:
        types = _strings(value, "attachment_types", path)
        for i, pattern in enumerate(types):
            if not _MIME_PATTERN.match(pattern):
                raise ConfigError(
                    f"{path}.attachment_types[{i}]",
                    'must be a type/subtype pattern like "image/*"',
                    pattern,
                )
        kwargs["attachment_types"] = tuple(types)
    for key in (
        "attachment_max_bytes",
        "attachment_total_bytes",
        "message_max_bytes",
        "ack_limit_per_hour",
    ):
        kwargs[key] = _positive_int(value, key, path, getattr(EmailSettings(), key))
    if "locale" in value:
        if value["locale"] not in LOCALES:
            raise ConfigError(f"{path}.locale", f"must be one of {list(LOCALES)}", value["locale"])
        kwargs["locale"] = value["locale"]
    if "smtp" in value:
        kwargs["smtp"] = parse_smtp_config(value["smtp"], f"{path}.smtp")
    if "imap" in value:
        kwargs["imap"] = parse_imap_config(value["imap"], f"{path}.imap")
    return EmailSettings(**kwargs)


def email_settings(config: HelpdeskConfig) -> EmailSettings:
    """The parsed ``[email]`` section of a desk's config, or the defaults."""
    settings = config.sections.get("email")
    return settings if isinstance(settings, EmailSettings) else EmailSettings()
