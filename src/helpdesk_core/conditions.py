"""The one condition language shared by SLA selection, routing, escalation and permissions.

A condition is data (a dict or TOML table), compiled once into a small tree of frozen nodes and
evaluated against a *subject*: a mapping from dotted field names to values, built by
:func:`ticket_subject`. There is no ``eval``: the operators are a closed set, extended only through
the ``helpdesk_register_conditions`` hook.

Syntax (all forms nest)::

    {"all": [c1, c2]}            every item holds (an empty "all" is true)
    {"any": [c1, c2]}            some item holds (an empty "any" is false)
    {"not": c}                   c does not hold
    {"priority": "high"}         shorthand for {"priority": {"eq": "high"}}
    {"customer.tier": {"in": ["vip", "strategic"]}, "channel": {"ne": "phone"}}
                                 several fields in one table: all of them hold

Operators: ``eq``, ``ne``, ``in``, ``not_in``, ``gt``, ``gte``, ``lt``, ``lte``, ``contains``
(a member of a list field, or a substring of a text field), ``matches`` (a regular expression
searched in a text field), ``exists`` (true/false: the field has a non-empty value).

A field that is missing from the subject has the value ``None``: it is ``eq`` only to ``None``,
never ``in`` a list, and every ordering comparison with it is false.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from helpdesk_core.errors import ConditionError
from helpdesk_core.model.customers import CUSTOMER_FIELDS

OPERATORS: Final = (
    "eq",
    "ne",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "contains",
    "matches",
    "exists",
)


class Condition:
    """A compiled condition: ``matches(subject)`` and ``to_data()`` (its canonical dict form)."""

    __slots__ = ()

    def matches(self, subject: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    def to_data(self) -> Any:
        raise NotImplementedError

    def fields(self) -> frozenset[str]:
        """Every field name the condition reads."""
        raise NotImplementedError

    def __and__(self, other: Condition) -> Condition:
        return all_of([self, other])

    def __or__(self, other: Condition) -> Condition:
        return any_of([self, other])

    def __invert__(self) -> Condition:
        return negate(self)


@attrs.frozen
class Const(Condition):
    """Always true or always false."""

    value: bool

    def matches(self, subject: Mapping[str, Any]) -> bool:
        return self.value

    def to_data(self) -> Any:
        return {"all": []} if self.value else {"any": []}

    def fields(self) -> frozenset[str]:
        return frozenset()


TRUE: Final = Const(True)
FALSE: Final = Const(False)


@attrs.frozen
class All(Condition):
    items: tuple[Condition, ...]

    def matches(self, subject: Mapping[str, Any]) -> bool:
        return all(item.matches(subject) for item in self.items)

    def to_data(self) -> Any:
        return {"all": [item.to_data() for item in self.items]}

    def fields(self) -> frozenset[str]:
        return frozenset().union(*(item.fields() for item in self.items))


@attrs.frozen
class AnyOf(Condition):
    items: tuple[Condition, ...]

    def matches(self, subject: Mapping[str, Any]) -> bool:
        return any(item.matches(subject) for item in self.items)

    def to_data(self) -> Any:
        return {"any": [item.to_data() for item in self.items]}

    def fields(self) -> frozenset[str]:
        return frozenset().union(*(item.fields() for item in self.items))


@attrs.frozen
class Not(Condition):
    item: Condition

    def matches(self, subject: Mapping[str, Any]) -> bool:
        return not self.item.matches(subject)

    def to_data(self) -> Any:
        return {"not": self.item.to_data()}

    def fields(self) -> frozenset[str]:
        return self.item.fields()


def _cmp(op: str, left: Any, right: Any) -> bool:
    if left is None:
        return False
    try:
        if op == "gt":
            return bool(left > right)
        if op == "gte":
            return bool(left >= right)
        if op == "lt":
            return bool(left < right)
        return bool(left <= right)
    except TypeError:
        return False


@attrs.frozen
class Compare(Condition):
    """``field op value``. ``value`` is normalised: a tuple for ``in``/``not_in``."""

    field: str
    op: str
    value: Any
    _pattern: re.Pattern[str] | None = attrs.field(default=None, eq=False, repr=False)

    def matches(self, subject: Mapping[str, Any]) -> bool:
        actual = subject.get(self.field)
        op = self.op
        if op == "eq":
            return bool(actual == self.value)
        if op == "ne":
            return bool(actual != self.value)
        if op == "in":
            return actual is not None and actual in self.value
        if op == "not_in":
            return actual is None or actual not in self.value
        if op in ("gt", "gte", "lt", "lte"):
            return _cmp(op, actual, self.value)
        if op == "contains":
            if actual is None:
                return False
            if isinstance(actual, str):
                return isinstance(self.value, str) and self.value in actual
            try:
                return self.value in actual
            except TypeError:
                return False
        if op == "matches":
            return (
                isinstance(actual, str)
                and self._pattern is not None
                and bool(self._pattern.search(actual))
            )
        if op == "exists":
            present = actual is not None and actual != ""
            if isinstance(actual, tuple | list | set | frozenset | dict) and not actual:
                present = False
            return present is bool(self.value)
        custom = _CUSTOM_OPERATORS.get(op)
        if custom is None:  # pragma: no cover - compile() rejects unknown operators
            raise ConditionError(self.field, f"unknown operator {op!r}")
        return custom(actual, self.value)

    def to_data(self) -> Any:
        value = list(self.value) if self.op in ("in", "not_in") else self.value
        return {self.field: {self.op: value}}

    def fields(self) -> frozenset[str]:
        return frozenset({self.field})


def all_of(items: Iterable[Condition]) -> Condition:
    """Conjunction, flattened; ``TRUE`` items vanish and a ``FALSE`` item makes it ``FALSE``."""
    flat: list[Condition] = []
    for item in items:
        if item == TRUE:
            continue
        if item == FALSE:
            return FALSE
        flat.extend(item.items if isinstance(item, All) else (item,))
    if not flat:
        return TRUE
    return flat[0] if len(flat) == 1 else All(tuple(flat))


def any_of(items: Iterable[Condition]) -> Condition:
    """Disjunction, flattened; ``FALSE`` items vanish and a ``TRUE`` item makes it ``TRUE``."""
    flat: list[Condition] = []
    for item in items:
        if item == FALSE:
            continue
        if item == TRUE:
            return TRUE
        flat.extend(item.items if isinstance(item, AnyOf) else (item,))
    if not flat:
        return FALSE
    return flat[0] if len(flat) == 1 else AnyOf(tuple(flat))


def negate(item: Condition) -> Condition:
    if isinstance(item, Const):
        return FALSE if item.value else TRUE
    if isinstance(item, Not):
        return item.item
    return Not(item)


def field_is(field: str, op: str, value: Any) -> Condition:
    """Build a single comparison in code (validated like compiled data)."""
    return _leaf(field, op, value, path=field, registry=None)


# Custom operators registered by plugins (``helpdesk_register_conditions``).
_CUSTOM_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {}


@attrs.define
class ConditionRegistry:
    """What the condition language knows: field names (exact or ``prefix.*``) and operators.

    Passed to ``helpdesk_register_conditions`` so plugins can add fields and operators.
    """

    fields: set[str] = attrs.field(factory=set)
    prefixes: set[str] = attrs.field(factory=set)

    def add_field(self, name: str) -> None:
        """Allow a field; ``"custom.*"`` allows every field under ``custom.``."""
        if name.endswith(".*"):
            self.prefixes.add(name[:-1])
        else:
            self.fields.add(name)

    def add_operator(self, name: str, func: Callable[[Any, Any], bool]) -> None:
        """Add an operator ``func(field_value, condition_value) -> bool``."""
        if name in OPERATORS or name in ("all", "any", "not"):
            raise ConditionError("operators", f"{name!r} is a built-in operator")
        _CUSTOM_OPERATORS[name] = func

    def knows(self, field: str) -> bool:
        return field in self.fields or any(field.startswith(p) for p in self.prefixes)


TICKET_FIELDS: Final = (
    "id",
    "number",
    "subject",
    "type",
    "sub_category",
    "priority",
    "urgency",
    "channel",
    "status",
    "status_category",
    "requester",
    "organisation",
    "assignee",
    "created_by",
    "tier",
    "team",
    "department",
    "tags",
    "version",
    "created_at",
    "updated_at",
    "complexity",
)


# Fields plugins added through ``helpdesk_register_conditions`` (process-wide, like operators).
_PLUGIN_FIELDS: set[str] = set()
_PLUGIN_PREFIXES: set[str] = set()


def default_registry() -> ConditionRegistry:
    registry = ConditionRegistry()
    for name in TICKET_FIELDS:
        registry.add_field(name)
    for name in CUSTOMER_FIELDS:  # exact: `customer.tire` is an error at its key path
        registry.add_field(name)
    for prefix in ("custom.*", "actor.*", "ticket.*", "sla.*", "transfer.*"):
        registry.add_field(prefix)
    registry.fields |= _PLUGIN_FIELDS
    registry.prefixes |= _PLUGIN_PREFIXES
    return registry


def extend_default_registry(registry: ConditionRegistry) -> None:
    """Make the fields a plugin added to ``registry`` known to every later compile (operators
    are process-wide as soon as they are added)."""
    _PLUGIN_FIELDS.update(registry.fields)
    _PLUGIN_PREFIXES.update(registry.prefixes)


def _leaf(
    field: str, op: str, value: Any, *, path: str, registry: ConditionRegistry | None
) -> Condition:
    if registry is not None and not registry.knows(field):
        raise ConditionError(path, f"unknown field {field!r}", field)
    if op not in OPERATORS and op not in _CUSTOM_OPERATORS:
        raise ConditionError(
            path, f"unknown operator {op!r}; use one of {', '.join(OPERATORS)}", op
        )
    if op in ("in", "not_in"):
        if isinstance(value, str) or not isinstance(value, Sequence | set | frozenset):
            raise ConditionError(path, f"{op!r} needs a list of values", value)
        return Compare(field, op, tuple(value))
    if op == "matches":
        if not isinstance(value, str):
            raise ConditionError(path, "'matches' needs a regular expression string", value)
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise ConditionError(path, f"bad regular expression: {exc}", value) from exc
        return Compare(field, op, value, pattern)
    if op == "exists" and not isinstance(value, bool):
        raise ConditionError(path, "'exists' needs true or false", value)
    if isinstance(value, Mapping):
        raise ConditionError(path, "a comparison value cannot be a table", value)
    return Compare(field, op, value)


def compile_condition(
    data: Any, path: str = "condition", registry: ConditionRegistry | None = None
) -> Condition:
    """Compile condition data into a :class:`Condition`; errors name the key path.

    ``registry`` restricts field names; ``None`` uses :func:`default_registry`.
    """
    reg = registry if registry is not None else default_registry()
    return _compile(data, path, reg)


def _compile(data: Any, path: str, reg: ConditionRegistry) -> Condition:
    if isinstance(data, Condition):
        return data
    if data is True:
        return TRUE
    if data is False:
        return FALSE
    if not isinstance(data, Mapping):
        raise ConditionError(path, "a condition must be a table", data)
    if not data:
        return TRUE
    parts: list[Condition] = []
    for key, value in data.items():
        sub = f"{path}.{key}"
        if key in ("all", "any"):
            if isinstance(value, str | bytes) or not isinstance(value, Sequence):
                raise ConditionError(sub, f"{key!r} needs a list of conditions", value)
            items = [_compile(item, f"{sub}[{i}]", reg) for i, item in enumerate(value)]
            parts.append(all_of(items) if key == "all" else any_of(items))
        elif key == "not":
            parts.append(negate(_compile(value, sub, reg)))
        elif not isinstance(key, str):
            raise ConditionError(path, "field names must be strings", key)
        elif isinstance(value, Mapping):
            if not value:
                raise ConditionError(sub, "needs an operator such as eq or in")
            for op, operand in value.items():
                parts.append(_leaf(key, str(op), operand, path=f"{sub}.{op}", registry=reg))
        else:
            parts.append(_leaf(key, "eq", value, path=sub, registry=reg))
    return all_of(parts)
