"""Load and validate a desk's configuration from TOML or a dict (DESIGN principle 4).

Every error is a :class:`~helpdesk_core.errors.ConfigError` naming the key path and the bad value
(``custom_fields.order_id.type: unknown type (got 'strng')``). The core keys (``desk``,
``priorities``, ``ticket_types``, ``channels``, ``custom_fields``, ``workflow``) are parsed here;
every other top-level key is a *section* whose parser a plugin registers through the
``helpdesk_register_config_sections`` hook into one desk's :class:`ConfigRegistry` (the built-in
plugin ``helpdesk_core.builtins`` registers ``calendars``, ``sla``, ``routing``, ``escalation``
and ``permissions``; the SQL plugin ``storage``). A top-level key nobody registered is an error,
so a typo never passes silently.

The same registry carries the desk's :class:`~helpdesk_core.conditions.ConditionRegistry`, so
the configuration's conditions can use exactly the operators and fields that desk's plugins
provide. :func:`load_config` without a registry uses the built-in plugins' one
(:func:`default_registry`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

import attrs

from helpdesk_core.conditions import Condition, ConditionRegistry, compile_condition
from helpdesk_core.errors import ConfigError, ValidationError
from helpdesk_core.lifecycle import DEFAULT_WORKFLOW, TRANSITION_KEYS, WORKFLOW_KEYS, Workflow

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
    produced for the other top-level keys (``config.sections["sla"]``); each section is parsed
    once, so ``[calendars.x]`` is one object wherever SLA, escalation and routing use it."""

    desk: DeskSettings = DeskSettings()
    priorities: tuple[str, ...] = DEFAULT_PRIORITIES
    ticket_types: tuple[str, ...] = DEFAULT_TICKET_TYPES
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    custom_fields: Mapping[str, CustomFieldSpec] = attrs.field(factory=dict)
    workflow: Workflow = DEFAULT_WORKFLOW
    sections: Mapping[str, Any] = attrs.field(factory=dict)
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    registry: ConfigRegistry | None = attrs.field(default=None, repr=False, eq=False)
    """The registry this configuration was parsed with (``None``: built by hand)."""


SectionParser = Callable[[Any, str, "ConfigContext"], Any]
"""``parser(value, key_path, context) -> parsed``; raises ConfigError naming key paths.
``context`` gives the whole raw config, the other sections (parsed once) and the desk's
condition registry."""


KeyTables = Mapping[str, tuple[str, ...]]
"""The tables of a configuration and the keys each accepts, by key path: ``sla`` (the section
itself), ``sla.policies[]`` (every item of a list), ``calendars.<name>`` (every value of a
table whose keys are names the user chooses)."""

_Parser = TypeVar("_Parser", bound=Callable[..., Any])


def config_keys(tables: Mapping[str, Collection[str]]) -> Callable[[_Parser], _Parser]:
    """Declare, on a section parser, the keys each of its tables accepts: pass the same
    collections the parser checks with :func:`table`, so the declaration is the check.

    ``docs/configuration-keys.md`` is generated from these declarations
    (:meth:`ConfigRegistry.key_tables`); a parser without one is listed by name only.
    """

    def declare(parser: _Parser) -> _Parser:
        declared = {path: tuple(sorted(keys)) for path, keys in tables.items()}
        setattr(parser, "helpdesk_config_keys", declared)  # noqa: B010 - a function attribute
        return parser

    return declare


def declared_keys(parser: SectionParser) -> KeyTables:
    """The key tables a parser declared with :func:`config_keys` (empty: none declared)."""
    declared: KeyTables = getattr(parser, "helpdesk_config_keys", {})
    return declared


class SectionRegistrar(Protocol):
    """What ``helpdesk_register_config_sections`` receives: ``register(name, parser)``."""

    def __call__(self, name: str, parser: SectionParser) -> None: ...


@attrs.define
class ConfigRegistry:
    """What one desk's configuration may contain: section parsers by top-level key, and the
    condition registry its conditions compile with. Built by the desk's plugin manager
    (:meth:`~helpdesk_core.plugins.PluginManager.config_registry`); never shared between desks.
    """

    conditions: ConditionRegistry = attrs.field(factory=ConditionRegistry.builtin)
    sections: dict[str, SectionParser] = attrs.field(factory=dict)

    def add_section(self, name: str, parser: SectionParser) -> None:
        """Let a plugin own the top-level key ``name`` (the hook's ``register``)."""
        if name in _CORE_KEYS:
            raise ConfigError(name, "is a core section and cannot be re-registered")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(str(name), "a section name is lowercase like 'sms'", name)
        if not callable(parser):
            raise ConfigError(name, "a section parser must be callable", parser)
        known = self.sections.get(name)
        if known is not None and known is not parser:
            raise ConfigError(name, "two plugins register this section")
        self.sections[name] = parser

    def parser(self, name: str) -> SectionParser | None:
        return self.sections.get(name)

    def known(self) -> list[str]:
        """Every top-level key, core and registered, sorted."""
        return sorted(_CORE_KEYS | set(self.sections))

    def key_tables(self) -> dict[str, KeyTables]:
        """For each top-level key (core and registered, sorted), its tables and their keys as
        the parsers declare them (:func:`config_keys`); ``{}`` for a section that declares
        none (a list of names, or a plugin's undeclared parser)."""
        out: dict[str, KeyTables] = {}
        for name in self.known():
            parser = self.sections.get(name)
            declared = CORE_KEY_TABLES if parser is None else declared_keys(parser)
            out[name] = {
                path: keys
                for path, keys in sorted(declared.items())
                if path == name or path.startswith((f"{name}.", f"{name}["))
            }
        return out


@attrs.define
class ConfigContext:
    """Handed to every section parser: the whole raw config, the other sections (each parsed
    at most once per configuration) and the desk's condition registry."""

    raw: Mapping[str, Any]
    registry: ConfigRegistry
    _parsed: dict[str, Any] = attrs.field(factory=dict)
    _parsing: set[str] = attrs.field(factory=set)

    @property
    def conditions(self) -> ConditionRegistry:
        return self.registry.conditions

    def condition(
        self, data: Any, path: str, registry: ConditionRegistry | None = None
    ) -> Condition:
        """Compile a configuration condition with this desk's registry (or ``registry``)."""
        return compile_condition(data, path, registry if registry is not None else self.conditions)

    def section(self, name: str) -> Any | None:
        """The parsed section ``name`` (``None`` when absent or unregistered); parsed once and
        shared by every section that asks."""
        if name in self._parsed:
            return self._parsed[name]
        parser = self.registry.parser(name)
        if parser is None or name not in self.raw:
            return None
        if name in self._parsing:
            raise ConfigError(name, "sections refer to each other in a cycle")
        self._parsing.add(name)
        try:
            value = parser(self.raw[name], name, self)
        finally:
            self._parsing.discard(name)
        self._parsed[name] = value
        return value


_CORE_KEYS: Final = frozenset(
    {"desk", "priorities", "ticket_types", "channels", "custom_fields", "workflow"}
)
_NAME: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_DESK_KEYS: Final = tuple(f.name for f in attrs.fields(DeskSettings))
_CUSTOM_FIELD_KEYS: Final = ("type", "required", "choices", "label", "pii")
CORE_KEY_TABLES: Final[KeyTables] = {
    "desk": tuple(sorted(_DESK_KEYS)),
    "custom_fields.<name>": tuple(sorted(_CUSTOM_FIELD_KEYS)),
    "workflow": tuple(sorted(WORKFLOW_KEYS)),
    "workflow.transitions[]": tuple(sorted(TRANSITION_KEYS)),
}
"""The key tables of the core keys (``priorities``, ``ticket_types`` and ``channels`` are lists
of names); the section parsers declare theirs with :func:`config_keys`."""


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
    for key, item in value.items():
        if key not in _DESK_KEYS:
            raise ConfigError(f"{path}.{key}", f"unknown key; expected one of {sorted(_DESK_KEYS)}")
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
        extra = set(raw) - set(_CUSTOM_FIELD_KEYS)
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


def load_config(
    source: Mapping[str, Any] | str | Path | None = None, registry: ConfigRegistry | None = None
) -> HelpdeskConfig:
    """Validate a config from a dict, a TOML file path, or ``None`` (all defaults).

    A ``str`` is a file path unless it contains a newline, in which case it is TOML text.
    ``registry`` is the desk's (its plugins' sections and operators); ``None`` uses the
    built-in plugins' (:func:`default_registry`).
    """
    return parse_config(read_config(source), registry)


def read_config(source: Mapping[str, Any] | str | Path | None) -> Mapping[str, Any]:
    """The raw table of a config given as :func:`load_config` takes it (a mapping, a TOML file
    path or TOML text, or ``None``), not yet validated; a ConfigError when it cannot be read or
    is not TOML."""
    raw: Mapping[str, Any]
    if source is None:
        raw = {}
    elif isinstance(source, Mapping):
        raw = source
    elif not isinstance(source, str | Path):
        raise ConfigError(
            "",
            "a configuration is a table, a TOML file path or TOML text, "
            f"not {type(source).__name__}",
        )
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
    return raw


def check_config(
    source: Mapping[str, Any] | str | Path | None, registry: ConfigRegistry | None = None
) -> list[ConfigError]:
    """Every error of a configuration that can be found in one pass, each naming its key path
    (``[]``: the configuration is valid). :func:`load_config` stops at the first error; this
    checks every top-level key on its own (unknown sections, each core key, each section with
    a fresh context), so one error per key is reported, in the file's order, without repeats
    (a section that fails only because another one does repeats that error once). When each
    key passes, the whole configuration is parsed for the checks that span keys."""
    reg = registry if registry is not None else default_registry()
    try:
        raw = read_config(source)
    except ConfigError as exc:
        return [exc]
    if not isinstance(raw, Mapping):
        return [ConfigError("", "the configuration must be a table", raw)]
    errors: dict[str, ConfigError] = {}

    def attempt(check: Callable[[], object]) -> None:
        try:
            check()
        except ConfigError as exc:
            errors.setdefault(str(exc), exc)

    core: dict[str, Callable[[Any, str], object]] = {
        "desk": _desk,
        "priorities": _names,
        "ticket_types": _names,
        "channels": _names,
        "custom_fields": _custom_fields,
        "workflow": Workflow.from_config,
    }
    for key, value in raw.items():
        name = str(key)
        if name in core:
            attempt(partial(core[name], value, name))
        elif reg.parser(name) is None:
            errors.setdefault(
                name,
                ConfigError(name, f"unknown section; known sections are {reg.known()}"),
            )
        else:
            attempt(partial(ConfigContext(raw, reg).section, name))
    if not errors:
        attempt(lambda: parse_config(raw, reg))
    return list(errors.values())


def default_registry() -> ConfigRegistry:
    """A fresh registry from the built-in plugins only (no entry points, no host plugins)."""
    from helpdesk_core.plugins import PluginManager

    return PluginManager(load_entrypoints=False).config_registry()


def for_desk(
    config: HelpdeskConfig | Mapping[str, Any] | str | Path | None, registry: ConfigRegistry
) -> HelpdeskConfig:
    """``config`` validated against a desk's ``registry``: parsed when it is raw; a
    :class:`HelpdeskConfig` parsed with another registry (other plugins) is parsed again from
    its raw form, so a section or operator this desk's plugins do not provide is a
    :class:`ConfigError` here. A config built by hand (no registry) is taken as it is."""
    if not isinstance(config, HelpdeskConfig):
        return load_config(config, registry)
    if config.registry is None or config.registry == registry:
        return config
    return parse_config(config.raw, registry)


def parse_config(raw: Mapping[str, Any], registry: ConfigRegistry | None = None) -> HelpdeskConfig:
    reg = registry if registry is not None else default_registry()
    if not isinstance(raw, Mapping):
        raise ConfigError("", "the configuration must be a table", raw)
    for key in raw:
        if key not in _CORE_KEYS and reg.parser(str(key)) is None:
            raise ConfigError(str(key), f"unknown section; known sections are {reg.known()}")
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
    context = ConfigContext(raw, reg)
    sections = {name: context.section(name) for name in reg.sections if name in raw}
    return HelpdeskConfig(
        desk=desk,
        priorities=priorities,
        ticket_types=types,
        channels=channels,
        custom_fields=custom,
        workflow=workflow,
        sections=sections,
        raw=raw,
        registry=reg,
    )
