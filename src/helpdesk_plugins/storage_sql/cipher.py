"""Encryption at rest for sensitive fields (R-SEC-2), with the ``cryptography`` package.

Documents the store writes (ticket state, events, outbox payloads) carry custom field values
under a ``custom`` key. :class:`FieldCipher` replaces each sensitive value there by
``{"$enc": "<Fernet token>"}`` before the write and restores it after the read, so the raw
database never holds a customer's mobile number or e-mail address in clear. A customer's
contacts (the ``emails`` and ``phones`` of profiles and of their events) are sealed the same way
whenever a key is configured, and the contact index (``hd_customer_contacts``, what
``find_customer`` looks up) then holds keyed hashes (HMAC-SHA256 under a key derived from each
field key), not addresses.

Keys are Fernet keys (32 random bytes, url-safe base64), comma-separated: the first encrypts,
every one decrypts, so keys rotate without rewriting the database at once. Make one with
``helpdesk db keygen`` or :func:`generate_key`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from helpdesk_core.config import HelpdeskConfig
from helpdesk_core.errors import StorageError
from helpdesk_plugins.storage_sql.settings import sensitive_custom_fields, storage_settings

SEALED: Final = "$enc"

CONTACT_FIELDS: Final = ("emails", "phones")
"""Top-level document keys holding a customer's contacts (profiles and profile events)."""

HASHED: Final = "h1:"
"""Prefix of a hashed contact-index key."""


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
        # one index key per field key: the first writes, all of them find (keys rotate)
        self._index_keys = [
            hashlib.sha256(b"helpdesk contact index\0" + key.strip().encode("ascii")).digest()
            for key in keys
        ]

    def _seal_value(self, value: Any) -> dict[str, str]:
        token = self._fernet.encrypt(json.dumps(value).encode("utf-8"))
        return {SEALED: token.decode("ascii")}

    def _open_value(self, value: Mapping[str, Any], name: str) -> Any:
        from cryptography.fernet import InvalidToken

        try:
            plain = self._fernet.decrypt(str(value[SEALED]).encode("ascii"))
        except InvalidToken as exc:
            raise StorageError(
                f"cannot decrypt {name}: none of the configured field keys "
                "matches the key it was written with"
            ) from exc
        return json.loads(plain)

    def _contacts(
        self, doc: dict[str, Any], change: Callable[[Any], Any], sealed: bool
    ) -> dict[str, Any]:
        """``doc`` with its contact values (top level, and in a profile change's ``before`` /
        ``after``) passed through ``change``: the sealed ones when ``sealed``, else the clear."""
        out = doc
        for part in (None, "before", "after"):
            holder = doc if part is None else doc.get(part)
            if not isinstance(holder, Mapping):
                continue
            found = {
                k: holder[k]
                for k in CONTACT_FIELDS
                if holder.get(k) and _is_sealed(holder[k]) == sealed
            }
            if found:
                new = {**holder, **{k: change(v) for k, v in found.items()}}
                out = new if part is None else {**out, part: new}
        return out

    def seal(self, doc: dict[str, Any]) -> dict[str, Any]:
        """``doc`` with its sensitive values encrypted (a copy when anything changes)."""
        doc = self._contacts(doc, self._seal_value, sealed=False)
        custom = doc.get("custom")
        if not isinstance(custom, Mapping) or self.fields.isdisjoint(custom):
            return doc
        sealed = dict(custom)
        for name in self.fields.intersection(custom):
            value = custom[name]
            if value is None:
                continue
            sealed[name] = self._seal_value(value)
        return {**doc, "custom": sealed}

    def open(self, doc: dict[str, Any]) -> dict[str, Any]:
        """``doc`` with every sealed value decrypted."""
        doc = self._contacts(doc, lambda v: self._open_value(v, "a customer contact"), sealed=True)
        custom = doc.get("custom")
        if not isinstance(custom, Mapping):
            return doc
        opened: dict[str, Any] | None = None
        for name, value in custom.items():
            if _is_sealed(value):
                if opened is None:
                    opened = dict(custom)
                opened[name] = self._open_value(value, f"custom.{name}")
        return doc if opened is None else {**doc, "custom": opened}

    def index_key(self, contact_key: str) -> str:
        """What the contact index stores for ``contact_key`` (a keyed hash)."""
        return self._hash(self._index_keys[0], contact_key)

    def lookup_keys(self, contact_key: str) -> list[str]:
        """Every index entry that may stand for ``contact_key``: its hash under each key (old
        keys still find what they wrote) and the clear key (rows written before a key was
        configured)."""
        return [self._hash(k, contact_key) for k in self._index_keys] + [contact_key]

    @staticmethod
    def _hash(key: bytes, contact_key: str) -> str:
        digest = hmac.new(key, contact_key.encode("utf-8"), hashlib.sha256).hexdigest()
        return HASHED + digest


class PlainCodec:
    """No sensitive fields (or encryption switched off): documents pass through."""

    fields: frozenset[str] = frozenset()

    def seal(self, doc: dict[str, Any]) -> dict[str, Any]:
        return doc

    def open(self, doc: dict[str, Any]) -> dict[str, Any]:
        custom = doc.get("custom")
        if any(
            isinstance(h, Mapping) and any(_is_sealed(h.get(k)) for k in CONTACT_FIELDS)
            for h in (doc, doc.get("before"), doc.get("after"))
        ) or (isinstance(custom, Mapping) and any(_is_sealed(v) for v in custom.values())):
            raise StorageError(
                "this database holds encrypted fields but no field key is configured: set "
                "HELPDESK_FIELD_KEY (or [storage] field_key_env / field_key_file)"
            )
        return doc

    def index_key(self, contact_key: str) -> str:
        return contact_key

    def lookup_keys(self, contact_key: str) -> list[str]:
        return [contact_key]


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
