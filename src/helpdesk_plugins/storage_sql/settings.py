"""The ``[storage]`` configuration section of the SQL storage plugin (keys, pool size, SQLite
timeouts), registered through ``helpdesk_register_config_sections``.

Example (TOML)::

    [storage]
    field_key_env = "HELPDESK_FIELD_KEY"      # where the field-encryption key comes from
    sensitive_fields = ["custom.id_number"]    # encrypted at rest besides every ``pii`` field
    migrate = true                             # apply schema migrations when a store opens

Custom fields declared with ``pii = "mobile" | "email" | "secret"`` are always sensitive
(R-SEC-2). Stores that keep data at rest encrypt sensitive values with the key; without a key
they refuse to open, unless ``encryption = "off"`` says plaintext is acceptable (development
only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from helpdesk_core.config import ConfigContext, HelpdeskConfig, config_keys, table
from helpdesk_core.errors import ConfigError

ENCRYPTION_MODES: Final = ("required", "off")


@attrs.frozen
class StorageSettings:
    field_key_env: str = "HELPDESK_FIELD_KEY"
    """Environment variable holding the field key(s): Fernet keys, comma-separated; the first
    encrypts, all decrypt (key rotation)."""
    field_key_file: str | None = None
    """A file holding the key(s) instead (read when the variable is unset)."""
    encryption: str = "required"
    sensitive_fields: tuple[str, ...] = ()
    """``custom.<name>`` fields encrypted at rest in addition to the ``pii`` ones."""
    migrate: bool = True
    """Apply pending schema migrations when the store opens."""
    busy_timeout_ms: int = 30_000
    """SQLite: how long a writer waits for the write lock before failing."""
    pool_size: int = 5
    """Connections a server database pool keeps open."""


_KEYS: Final = {f.name for f in attrs.fields(StorageSettings)}


@config_keys({"storage": _KEYS})
def parse_storage(value: Any, path: str, context: ConfigContext) -> StorageSettings:
    value = table(value, path, _KEYS)
    raw = context.raw
    kwargs: dict[str, Any] = {}
    for key in ("field_key_env", "field_key_file"):
        if key in value:
            if not isinstance(value[key], str) or not value[key]:
                raise ConfigError(f"{path}.{key}", "must be a non-empty string", value[key])
            kwargs[key] = value[key]
    if "encryption" in value:
        if value["encryption"] not in ENCRYPTION_MODES:
            raise ConfigError(
                f"{path}.encryption",
                f"must be one of {list(ENCRYPTION_MODES)}",
                value["encryption"],
            )
        kwargs["encryption"] = value["encryption"]
    if "migrate" in value:
        if not isinstance(value["migrate"], bool):
            raise ConfigError(f"{path}.migrate", "must be true or false", value["migrate"])
        kwargs["migrate"] = value["migrate"]
    for key in ("busy_timeout_ms", "pool_size"):
        if key in value:
            item = value[key]
            if isinstance(item, bool) or not isinstance(item, int) or item < 1:
                raise ConfigError(f"{path}.{key}", "must be a positive integer", item)
            kwargs[key] = item
    if "sensitive_fields" in value:
        items = value["sensitive_fields"]
        if isinstance(items, str) or not isinstance(items, list):
            raise ConfigError(f"{path}.sensitive_fields", "must be a list of custom.<name>", items)
        declared = raw.get("custom_fields", {})
        for i, item in enumerate(items):
            name = item[len("custom.") :] if isinstance(item, str) else None
            if not isinstance(item, str) or not item.startswith("custom.") or not name:
                raise ConfigError(
                    f"{path}.sensitive_fields[{i}]",
                    "must name a custom field as custom.<name>",
                    item,
                )
            if not isinstance(declared, Mapping) or name not in declared:
                raise ConfigError(
                    f"{path}.sensitive_fields[{i}]",
                    "is not a declared custom field ([custom_fields.<name>])",
                    item,
                )
        kwargs["sensitive_fields"] = tuple(items)
    return StorageSettings(**kwargs)


def storage_settings(config: HelpdeskConfig) -> StorageSettings:
    """The parsed ``[storage]`` section, or the defaults."""
    settings = config.sections.get("storage")
    return settings if isinstance(settings, StorageSettings) else StorageSettings()


def sensitive_custom_fields(config: HelpdeskConfig) -> frozenset[str]:
    """Names (without ``custom.``) of the custom fields to encrypt at rest."""
    names = {name for name, spec in config.custom_fields.items() if spec.pii}
    names.update(f[len("custom.") :] for f in storage_settings(config).sensitive_fields)
    return frozenset(names)
