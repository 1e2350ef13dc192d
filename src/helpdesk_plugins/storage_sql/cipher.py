"""Encryption at rest for sensitive custom fields (R-SEC-2), with the ``cryptography`` package.

Documents the store writes (ticket state, events, outbox payloads) carry custom field values
under a ``custom`` key. :class:`FieldCipher` replaces each sensitive value there by
``{"$enc": "<Fernet token>"}`` before the write and restores it after the read, so the raw
database never holds a customer's mobile number or e-mail address in clear.

Keys are Fernet keys (32 random bytes, url-safe base64), comma-separated: the first encrypts,
every one decrypts, so keys rotate without rewriting the database at once. Make one with
``helpdesk db keygen`` or :func:`generate_key`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from helpdesk_core.config import HelpdeskConfig
from helpdesk_core.errors import StorageError
from helpdesk_plugins.storage_sql.settings import sensitive_custom_fields, storage_settings

SEALED: Final = "$enc"


def _is_sealed(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {SEALED}


def generate_key() -> str:
    """A new random Fernet key, as text."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")


class FieldCipher:
    """Seals and opens the sensitive values of ``doc["custom"]``."""

    def __init__(self, keys: Sequence[str], fields: frozenset[str]) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        if not keys:
            raise StorageError("field encryption needs at least one key")
        try:
            self._fernet = MultiFernet([Fernet(key.strip().encode("ascii")) for key in keys])
        except (ValueError, UnicodeError) as exc:
            raise StorageError(
                "the field encryption key is not a Fernet key (32 url-safe base64-encoded "
                f"bytes; make one with `helpdesk db keygen`): {exc}"
            ) from exc
        self.fields = fields

    def seal(self, doc: dict[str, Any]) -> dict[str, Any]:
        """``doc`` with its sensitive custom values encrypted (a copy when anything changes)."""
        custom = doc.get("custom")
        if not isinstance(custom, Mapping) or self.fields.isdisjoint(custom):
            return doc
        sealed = dict(custom)
        for name in self.fields.intersection(custom):
            value = custom[name]
            if value is None:
                continue
            token = self._fernet.encrypt(json.dumps(value).encode("utf-8"))
            sealed[name] = {SEALED: token.decode("ascii")}
        return {**doc, "custom": sealed}

    def open(self, doc: dict[str, Any]) -> dict[str, Any]:
        """``doc`` with every sealed custom value decrypted."""
        from cryptography.fernet import InvalidToken

        custom = doc.get("custom")
        if not isinstance(custom, Mapping):
            return doc
        opened: dict[str, Any] | None = None
        for name, value in custom.items():
            if _is_sealed(value):
                if opened is None:
                    opened = dict(custom)
                try:
                    plain = self._fernet.decrypt(str(value[SEALED]).encode("ascii"))
                except InvalidToken as exc:
                    raise StorageError(
                        f"cannot decrypt custom.{name}: none of the configured field keys "
                        "matches the key it was written with"
                    ) from exc
                opened[name] = json.loads(plain)
        return doc if opened is None else {**doc, "custom": opened}


class PlainCodec:
    """No sensitive fields (or encryption switched off): documents pass through."""

    fields: frozenset[str] = frozenset()

    def seal(self, doc: dict[str, Any]) -> dict[str, Any]:
        return doc

    def open(self, doc: dict[str, Any]) -> dict[str, Any]:
        custom = doc.get("custom")
        if isinstance(custom, Mapping) and any(_is_sealed(v) for v in custom.values()):
            raise StorageError(
                "this database holds encrypted fields but no field key is configured: set "
                "HELPDESK_FIELD_KEY (or [storage] field_key_env / field_key_file)"
            )
        return doc


def cipher_for(config: HelpdeskConfig) -> FieldCipher | PlainCodec:
    """The codec ``config`` asks for; a clear error when sensitive fields lack a key."""
    settings = storage_settings(config)
    fields = sensitive_custom_fields(config)
    keys = _keys(settings.field_key_env, settings.field_key_file)
    if keys:
        return FieldCipher(keys, fields)
    if fields and settings.encryption != "off":
        names = ", ".join(f"custom.{f}" for f in sorted(fields))
        raise StorageError(
            f"sensitive fields ({names}) are encrypted at rest and need a key: set the "
            f"environment variable {settings.field_key_env} to a Fernet key (make one with "
            "`helpdesk db keygen`), or [storage] field_key_file; for development only, "
            '[storage] encryption = "off" stores them in clear'
        )
    return PlainCodec()


def _keys(env_name: str, key_file: str | None) -> list[str]:
    raw = os.environ.get(env_name, "")
    if not raw and key_file:
        try:
            raw = Path(key_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise StorageError(
                f"[storage] field_key_file: cannot read {key_file}: {exc.strerror}"
            ) from exc
    return [k for k in (part.strip() for part in raw.replace("\n", ",").split(",")) if k]
