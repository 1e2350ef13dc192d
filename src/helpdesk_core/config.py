"""Load and validate a desk's configuration from TOML or a dict (DESIGN principle 4).

Every error is a :class:`~helpdesk_core.errors.ConfigError` naming the key path and the bad value
(``custom_fields.order_id.type: unknown type (got 'strng')``). Sections that later modules own
(``calendars``, ``sla``, ``routing``, ``escalation``, ``permissions``...) plug in through
:func:`register_section`; a top-level key nobody registered is an error, so a typo never passes
silently.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import attrs

from helpdesk_core.errors import ConfigError, ValidationError
from helpdesk_core.lifecycle import DEFAULT_WORKFLOW, Workflow

CUSTOM_FIELD_TYPES: Final = ("text", "int", "float", "bool", "date", "datetime", "choice", "tags")

PII_KINDS: Final = ("mobile", "email", "secret")

DEFAULT_PRIORITIES: Final = ("urgent", "high", "normal", "low")
DEFAULT_TICKET_TYPES: Final = ("consultation", "complaint", "after_sales", "technical_support")
DEFAULT_CHANNELS: Final = ("phone", "web_chat", "email", "social", "web_form", "api", "sms")


@attrs.frozen
class CustomFieldSpec:
    """A typed custom ticket field declared in ``[custom_fields.<name>]``.

    Values are stored in a JSON-safe normal form: ``date`` as ``YYYY-MM-DD``, ``datetime`` as an
    ISO string with offset, ``tags`` as a sorted list of strings.
    """

    name: str
    type: str
    required: bool = False
    choices: tuple[str, ...] = ()
    label: str | None = None
    pii: str | None = None
    """Contact data to mask (R-CUS-2): ``mobile``, ``email`` or ``secret``."""

    def normalise(self, value: Any, field: str | None = None) -> Any:
        """The stored form of ``value``, or :class:`ValidationError` naming the field."""
        where = field or f"custom.{self.name}"
        if value is None:
            if self.required:
                raise ValidationError(where, "is required")
            return None
        kind = self.type
        if kind == "text":
            if not isinstance(value, str):
                raise ValidationError(where, f"must be text, got {value!r}")
            return value
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(where, f"must be an integer, got {value!r}")
            return value
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationError(where, f"must be a number, got {value!r}")
            return float(value)
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValidationError(where, f"must be true or false, got {value!r}")
            return value
        if kind == "date":
            try:
                parsed = value if isinstance(value, date) else date.fromisoformat(str(value))
            except ValueError as exc:
                raise ValidationError(where, f"must be a date YYYY-MM-DD, got {value!r}") from exc
            if isinstance(parsed, datetime):
                raise ValidationError(where, f"must be a date, not a datetime: {value!r}")
            return parsed.isoformat()
        if kind == "datetime":
            try:
                parsed_dt = (
                    value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
                )
            except ValueError as exc:
                raise ValidationError(where, f"must be an ISO datetime, got {value!r}") from exc
            if parsed_dt.tzinfo is None:
                raise ValidationError(where, f"needs a time zone offset: {value!r}")
            return parsed_dt.isoformat()
        if kind == "choice":
            if value not in self.choices:
                raise ValidationError(where, f"must be one of {list(self.choices)}, got {value!r}")
            return value
        # tags
        if isinstance(value, str) or not isinstance(value, Sequence | set | frozenset):
            raise ValidationError(where, f"must be a list of strings, got {value!r}")
        if not all(isinstance(v, str) for v in value):
            raise ValidationError(where, f"must be a list of strings, got {value!r}")
        if self.choices and not set(value) <= set(self.choices):
            bad = sorted(set(value) - set(self.choices))
            raise ValidationError(where, f"unknown values {bad}; allowed {list(self.choices)}")
        return sorted(set(value))


@attrs.frozen
class DeskSettings:
    name: str = "helpdesk"
    timezone: str = "UTC"
    ticket_prefix: str = "T"
    default_priority: str = "normal"
    default_type: str = "consultation"
    default_team: str | None = None
    """Team of tickets opened without one (until routing assigns them), so that team sees them."""


@attrs.frozen
class HelpdeskConfig:
    """The validated configuration of one desk. ``sections`` holds what registered parsers
    produced for the other top-level keys (``config.sections["sla"]``)."""

    desk: DeskSettings = DeskSettings()
    priorities: tuple[str, ...] = DEFAULT_PRIORITIES
    ticket_types: tuple[str, ...] = DEFAULT_TICKET_TYPES
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    custom_fields: Mapping[str, CustomFieldSpec] = attrs.field(factory=dict)
    workflow: Workflow = DEFAULT_WORKFLOW
    sections: Mapping[str, Any] = attrs.field(factory=dict)
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


SectionParser = Callable[[Any, str, Mapping[str, Any]], Any]
"""``parser(value, key_path, whole_raw_config) -> parsed``; raises ConfigError with key paths."""

_SECTIONS: dict[str, SectionParser] = {}


def register_section(name: str, parser: SectionParser) -> None:
    """Let a module own the top-level config key ``name`` (idempotent for the same parser)."""
    if name in _CORE_KEYS:
        raise ConfigError(name, "is a core section and cannot be re-registered")
    _SECTIONS[name] = parser


_CORE_KEYS: Final = frozenset(
    {"desk", "priorities", "ticket_types", "channels", "custom_fields", "workflow"}
)
_NAME: Final = re.compile(r"^[a-z][a-z0-9_]*$")


def table(
    value: Any, path: str, known: Collection[str], what: str = "must be a table"
) -> Mapping[str, Any]:
    """``value`` as a config table whose keys are all in ``known``; else a ConfigError naming
    ``path`` (not a table) or ``path.key`` (an unknown key, with the known ones)."""
    if not isinstance(value, Mapping):
        raise ConfigError(path, what, value)
    for key in value:
        if key not in known:
            raise ConfigError(f"{path}.{key}", f"unknown key; expected one of {sorted(known)}")
    return value


def _names(value: Any, path: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ConfigError(path, "must be a non-empty list of names", value)
    for i, item in enumerate(value):
        if not isinstance(item, str) or not _NAME.match(item):
            raise ConfigError(f"{path}[{i}]", "must be a lowercase name like 'after_sales'", item)
    if len(set(value)) != len(value):
        raise ConfigError(path, "has duplicates", value)
    return tuple(value)


def _desk(value: Any, path: str) -> DeskSettings:
    if not isinstance(value, Mapping):
        raise ConfigError(path, "must be a table", value)
    fields = {f.name for f in attrs.fields(DeskSettings)}
    for key, item in value.items():
        if key not in fields:
            raise ConfigError(f"{path}.{key}", f"unknown key; expected one of {sorted(fields)}")
        if not isinstance(item, str) or not item:
            raise ConfigError(f"{path}.{key}", "must be a non-empty string", item)
    if "timezone" in value:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value["timezone"])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"{path}.timezone", "unknown IANA time zone", value["timezone"]
            ) from exc
    return DeskSettings(**value)


def _custom_fields(value: Any, path: str) -> dict[str, CustomFieldSpec]:
    if not isinstance(value, Mapping):
        raise ConfigError(path, "must be a table of field name = {type = ...}", value)
    specs: dict[str, CustomFieldSpec] = {}
    for name, raw in value.items():
        fpath = f"{path}.{name}"
        if not _NAME.match(str(name)):
            raise ConfigError(fpath, "field names are lowercase like 'order_id'", name)
        if not isinstance(raw, Mapping):
            raise ConfigError(fpath, "must be a table with a 'type'", raw)
        extra = set(raw) - {"type", "required", "choices", "label", "pii"}
        if extra:
            raise ConfigError(f"{fpath}.{sorted(extra)[0]}", "unknown key")
        kind = raw.get("type")
        if kind not in CUSTOM_FIELD_TYPES:
            raise ConfigError(
                f"{fpath}.type", f"unknown type; use one of {CUSTOM_FIELD_TYPES}", kind
            )
        required = raw.get("required", False)
        if not isinstance(required, bool):
            raise ConfigError(f"{fpath}.required", "must be true or false", required)
        choices = raw.get("choices", [])
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise ConfigError(f"{fpath}.choices", "must be a list of strings", choices)
        if kind == "choice" and not choices:
            raise ConfigError(f"{fpath}.choices", "a 'choice' field needs its choices")
        label = raw.get("label")
        if label is not None and not isinstance(label, str):
            raise ConfigError(f"{fpath}.label", "must be a string", label)
        pii = raw.get("pii")
        if pii is not None and pii not in PII_KINDS:
            raise ConfigError(f"{fpath}.pii", f"must be one of {PII_KINDS}", pii)
        specs[str(name)] = CustomFieldSpec(str(name), kind, required, tuple(choices), label, pii)
    return specs


def load_config(source: Mapping[str, Any] | str | Path | None = None) -> HelpdeskConfig:
    """Validate a config from a dict, a TOML file path, or ``None`` (all defaults).

    A ``str`` is a file path unless it contains a newline, in which case it is TOML text.
    """
    raw: Mapping[str, Any]
    if source is None:
        raw = {}
    elif isinstance(source, Mapping):
        raw = source
    else:
        text: str
        origin: str
        if isinstance(source, str) and "\n" in source:
            text, origin = source, "<string>"
        else:
            file = Path(source)
            try:
                text = file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError("", f"cannot read config file {file}: {exc.strerror}") from exc
            origin = str(file)
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("", f"{origin} is not valid TOML: {exc}") from exc
    return parse_config(raw)


def parse_config(raw: Mapping[str, Any]) -> HelpdeskConfig:
    _ensure_sections_registered()
    if not isinstance(raw, Mapping):
        raise ConfigError("", "the configuration must be a table", raw)
    for key in raw:
        if key not in _CORE_KEYS and key not in _SECTIONS:
            known = sorted(_CORE_KEYS | set(_SECTIONS))
            raise ConfigError(str(key), f"unknown section; known sections are {known}")
    desk = _desk(raw.get("desk", {}), "desk")
    priorities = (
        _names(raw["priorities"], "priorities") if "priorities" in raw else DEFAULT_PRIORITIES
    )
    types = (
        _names(raw["ticket_types"], "ticket_types")
        if "ticket_types" in raw
        else DEFAULT_TICKET_TYPES
    )
    channels = _names(raw["channels"], "channels") if "channels" in raw else DEFAULT_CHANNELS
    if desk.default_priority not in priorities:
        raise ConfigError(
            "desk.default_priority",
            f"is not in priorities {list(priorities)}",
            desk.default_priority,
        )
    if desk.default_type not in types:
        raise ConfigError(
            "desk.default_type", f"is not in ticket_types {list(types)}", desk.default_type
        )
    custom = _custom_fields(raw.get("custom_fields", {}), "custom_fields")
    workflow = (
        Workflow.from_config(raw["workflow"], "workflow") if "workflow" in raw else DEFAULT_WORKFLOW
    )
    sections = {
        name: parser(raw[name], name, raw) for name, parser in _SECTIONS.items() if name in raw
    }
    return HelpdeskConfig(
        desk=desk,
        priorities=priorities,
        ticket_types=types,
        channels=channels,
        custom_fields=custom,
        workflow=workflow,
        sections=sections,
        raw=raw,
    )


def _ensure_sections_registered() -> None:
    """Import the modules that own config sections, so their parsers are registered."""
    import importlib

    for module in SECTION_MODULES:
        importlib.import_module(module)


def section_parser(name: str) -> SectionParser | None:
    """The parser registered for a section (so one section can read another, e.g. escalation
    resolving calendar names)."""
    _ensure_sections_registered()
    return _SECTIONS.get(name)


SECTION_MODULES: list[str] = [
    "helpdesk_core.permissions",
    "helpdesk_core.routing",
    "helpdesk_core.calendars",
    "helpdesk_core.sla",
    "helpdesk_core.escalation",
    "helpdesk_core.storage_settings",
    "helpdesk_plugins.channel_email.settings",
    "helpdesk_plugins.notify_webhook",
]
"""Modules that register a config section when imported (the built-in plugins' sections are
parsed by plain functions and import no I/O library at module level)."""
