"""The one condition language shared by SLA selection, routing, escalation and permissions.

A condition is data (a dict or TOML table), compiled once into a small tree of frozen nodes and
evaluated against a *subject*: a mapping from dotted field names to values, built by
:func:`ticket_subject`. There is no ``eval``: the operators are a closed set, extended only through
the ``helpdesk_register_conditions`` hook into one desk's :class:`ConditionRegistry`. A compiled
:class:`Compare` carries its own operator function and compiled pattern, so evaluating a condition
never looks anything up: a desk can only run the operators its own plugins gave it.

Syntax (all forms nest)::

    {"all": [c1, c2]}            every item holds (an empty "all" is true)
    {"any": [c1, c2]}            some item holds (an empty "any" is false)
    {"not": c}                   c does not hold
    {"priority": "high"}         shorthand for {"priority": {"eq": "high"}}
    {"customer.tier": {"in": ["vip", "strategic"]}, "channel": {"ne": "phone"}}
                                 several fields in one table: all of them hold

Operators: ``eq``, ``ne``, ``in``, ``not_in``, ``gt``, ``gte``, ``lt``, ``lte``, ``contains``
(a member of a list field, or a substring of a text field), ``matches`` (a regular expression
searched in a text field, compiled by the registry's :class:`RegexEngine`), ``exists``
(true/false: the field has a non-empty value).

A field that is missing from the subject has the value ``None``: it is ``eq`` only to ``None``,
never ``in`` a list, and every ordering comparison with it is false.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Final, Protocol

import attrs

from helpdesk_core.errors import ConditionError, ValidationError
from helpdesk_core.model.customers import CUSTOMER_FIELDS
from helpdesk_core.model.fields import CONDITION_FIELDS

OPERATOR_MEANINGS: Final[Mapping[str, str]] = {
    "eq": "the field equals the value (the shorthand `{ field = value }`)",
    "ne": "the field differs from the value",
    "in": "the field is one of a list of values (at most 1,000)",
    "not_in": "the field is none of a list of values",
    "gt": "the field is greater than the value (numbers, dates, text)",
    "gte": "the field is greater than or equal to the value",
    "lt": "the field is less than the value",
    "lte": "the field is less than or equal to the value",
    "contains": "a list field has the value as a member, or a text field has it as a substring",
    "matches": "a regular expression is found in a text field (linear-time engine for filters)",
    "exists": "`true`: the field has a non-empty value; `false`: it has none",
}
"""The built-in operators, each with what it tests; the reference is generated from this."""

OPERATORS: Final = tuple(OPERATOR_MEANINGS)

COMBINATOR_MEANINGS: Final[Mapping[str, str]] = {
    "all": "every listed condition holds (an empty list holds)",
    "any": "some listed condition holds (an empty list does not)",
    "not": "the condition does not hold",
}
"""The forms that combine conditions."""


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


OperatorFunc = Callable[[Any, Any], bool]
"""A plugin operator: ``func(field_value, condition_value) -> bool``."""


class CompiledPattern(Protocol):
    """What a :class:`RegexEngine` compiles a pattern into."""

    def search(self, text: str, /) -> object | None: ...


@attrs.frozen
class RegexEngine:
    """How a desk compiles ``matches`` patterns.

    ``compile(pattern)`` returns an object with ``search(text)`` (``None`` when nothing matches)
    and raises :class:`ValueError` for a pattern the engine does not accept. ``linear`` says
    whether matching takes time linear in the subject whatever the pattern; only such an engine
    runs patterns an actor supplies (``helpdesk_plugins.regex_re2`` provides one, extra ``re2``).
    """

    name: str
    compile: Callable[[str], CompiledPattern]
    linear: bool


def _python_re(pattern: str) -> CompiledPattern:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(str(exc)) from exc


PYTHON_RE: Final = RegexEngine("re", _python_re, linear=False)
"""Python's backtracking ``re``: compiles configuration patterns (written by the desk's
administrator) when no linear engine is registered; never an actor's filter."""


@attrs.frozen
class Compare(Condition):
    """``field op value``. ``value`` is normalised: a tuple for ``in``/``not_in``.

    ``test`` is a plugin operator's function and ``pattern`` the compiled ``matches`` pattern
    (``engine`` names the engine that compiled it); both come from the registry the condition
    was compiled with, never from a global table.
    """

    field: str
    op: str
    value: Any
    pattern: CompiledPattern | None = attrs.field(default=None, eq=False, repr=False)
    test: OperatorFunc | None = attrs.field(default=None, eq=False, repr=False)
    engine: str | None = attrs.field(default=None, eq=False, repr=False)

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
                and self.pattern is not None
                and self.pattern.search(actual) is not None
            )
        if op == "exists":
            present = actual is not None and actual != ""
            if isinstance(actual, tuple | list | set | frozenset | dict) and not actual:
                present = False
            return present is bool(self.value)
        if self.test is None:  # pragma: no cover - only a registry's compile builds these
            raise ConditionError(self.field, f"operator {op!r} was compiled without its function")
        return bool(self.test(actual, self.value))

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


def field_is(
    field: str, op: str, value: Any, registry: ConditionRegistry | None = None
) -> Condition:
    """Build a single comparison in code (validated like compiled data; a plugin operator
    needs the ``registry`` that holds it)."""
    return _leaf(field, op, value, path=field, registry=registry)


@attrs.define
class ConditionRegistry:
    """What one desk's condition language knows: field names (exact or ``prefix.*``), plugin
    operators and the regular-expression engine.

    A desk builds one (:meth:`builtin`, then the ``helpdesk_register_conditions`` hook) and
    compiles its configuration and its actors' filters with it; nothing is shared between
    desks.
    """

    fields: set[str] = attrs.field(factory=set)
    prefixes: set[str] = attrs.field(factory=set)
    operators: dict[str, OperatorFunc] = attrs.field(factory=dict)
    regex: RegexEngine | None = None
    """The engine for ``matches``; ``None`` until a plugin provides one (configuration then
    uses Python's ``re``; actors' filters refuse ``matches``)."""

    hidden: frozenset[str] = frozenset()
    """Fields refused as if unknown (an actor's hidden and masked fields)."""

    @classmethod
    def builtin(cls) -> ConditionRegistry:
        """The ticket fields, the requester's ``customer.*`` fields, and the ``custom.*``,
        ``actor.*``, ``ticket.*``, ``sla.*`` and ``transfer.*`` families; no plugin operator,
        no regex engine."""
        registry = cls()
        for name in TICKET_FIELDS:
            registry.add_field(name)
        for name in CUSTOMER_FIELDS:  # exact: `customer.tire` is an error at its key path
            registry.add_field(name)
        for prefix in ("custom.*", "actor.*", "ticket.*", "sla.*", "transfer.*"):
            registry.add_field(prefix)
        return registry

    def add_field(self, name: str) -> None:
        """Allow a field; ``"custom.*"`` allows every field under ``custom.``."""
        if name.endswith(".*"):
            self.prefixes.add(name[:-1])
        else:
            self.fields.add(name)

    def add_operator(self, name: str, func: OperatorFunc) -> None:
        """Add an operator ``func(field_value, condition_value) -> bool`` to this registry."""
        if name in OPERATORS or name in ("all", "any", "not"):
            raise ConditionError("operators", f"{name!r} is a built-in operator")
        if not callable(func):
            raise ConditionError(f"operators.{name}", "needs a function (value, arg) -> bool")
        self.operators[name] = func

    def set_regex_engine(self, engine: RegexEngine) -> None:
        """Compile ``matches`` patterns with ``engine`` (the last plugin to call this wins)."""
        self.regex = engine

    def knows(self, field: str) -> bool:
        if field in self.hidden:
            return False
        return field in self.fields or any(field.startswith(p) for p in self.prefixes)

    def without(self, fields: Iterable[str]) -> ConditionRegistry:
        """This registry refusing ``fields`` exactly as unknown ones (same error, same path)."""
        return attrs.evolve(
            self,
            fields=set(self.fields),
            prefixes=set(self.prefixes),
            operators=dict(self.operators),
            hidden=frozenset(fields),
        )

    def with_prefixes(self, *prefixes: str) -> ConditionRegistry:
        """A copy that also allows the fields under ``prefixes`` (``"event."``)."""
        return attrs.evolve(
            self,
            fields=set(self.fields),
            prefixes={*self.prefixes, *prefixes},
            operators=dict(self.operators),
        )


TICKET_FIELDS: Final = CONDITION_FIELDS
"""The ticket fields a condition may name (read from :mod:`helpdesk_core.model.fields`)."""


def default_registry() -> ConditionRegistry:
    """A fresh :meth:`ConditionRegistry.builtin` (what ``compile_condition`` uses without one)."""
    return ConditionRegistry.builtin()


MAX_DEPTH: Final = 32
"""How deeply ``all``/``any``/``not`` may nest (deeper data is refused, never recursed into)."""

MAX_INT: Final = 2**63 - 1
"""Numbers in conditions stay within what every store compares natively (a 64-bit integer)."""

MAX_VALUE_TEXT: Final = 10_000
MAX_VALUES: Final = 1_000


def _operand(value: Any, path: str) -> None:
    """A comparison value every store can compare: text (no NUL, valid Unicode, bounded),
    a 64-bit integer, a finite number, true/false, a date or instant, or ``None``."""
    if value is None or isinstance(value, bool | date):
        return
    if isinstance(value, int):
        if not -MAX_INT <= value <= MAX_INT:
            raise ConditionError(path, f"numbers must be within +/-{MAX_INT}", value)
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConditionError(path, "numbers must be finite", value)
        return
    if isinstance(value, str):
        if len(value) > MAX_VALUE_TEXT or "\x00" in value:
            raise ConditionError(
                path, f"text values have no NUL and at most {MAX_VALUE_TEXT} characters"
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ConditionError(
                path, "text values must be valid Unicode (a lone surrogate)"
            ) from None
        return
    raise ConditionError(
        path,
        f"a comparison value is text, a number, true/false or a date, not {type(value).__name__}",
    )


def _leaf(
    field: str,
    op: str,
    value: Any,
    *,
    path: str,
    registry: ConditionRegistry | None,
    actor: bool = False,
) -> Condition:
    if not isinstance(field, str) or not field or len(field) > 200:
        raise ConditionError(path, "field names are non-empty strings", field)
    if registry is not None and not registry.knows(field):
        raise ConditionError(path, f"unknown field {field!r}", field)
    test = registry.operators.get(op) if registry is not None else None
    if op not in OPERATORS and test is None:
        raise ConditionError(
            path, f"unknown operator {op!r}; use one of {', '.join(OPERATORS)}", op
        )
    if op in ("in", "not_in"):
        if isinstance(value, str) or not isinstance(value, Sequence | set | frozenset):
            raise ConditionError(path, f"{op!r} needs a list of values", value)
        if len(value) > MAX_VALUES:
            raise ConditionError(path, f"{op!r} takes at most {MAX_VALUES} values")
        for i, item in enumerate(value):
            _operand(item, f"{path}[{i}]")
        return Compare(field, op, tuple(value))
    if op == "matches":
        return _matches(field, value, path, registry, actor)
    if op == "exists" and not isinstance(value, bool):
        raise ConditionError(path, "'exists' needs true or false", value)
    if isinstance(value, Mapping):
        raise ConditionError(path, "a comparison value cannot be a table", value)
    if test is None:  # a plugin operator defines its own operands
        _operand(value, path)
    return Compare(field, op, value, test=test)


def _matches(
    field: str, value: Any, path: str, registry: ConditionRegistry | None, actor: bool
) -> Condition:
    engine = registry.regex if registry is not None else None
    if actor:
        where = f"where.{field}"
        if engine is None or not engine.linear:
            raise ValidationError(
                where,
                "'matches' in a filter needs a linear-time regular expression engine; "
                "install the 're2' extra (pip install 'helpdesk-core[re2]')",
            )
        if not isinstance(value, str):
            raise ValidationError(where, f"'matches' needs a regular expression string: {value!r}")
        try:
            pattern = engine.compile(value)
        except ValueError as exc:
            raise ValidationError(
                where, f"{engine.name} rejects the pattern {value!r}: {exc}"
            ) from exc
        return Compare(field, "matches", value, pattern, engine=engine.name)
    engine = engine or PYTHON_RE
    if not isinstance(value, str):
        raise ConditionError(path, "'matches' needs a regular expression string", value)
    try:
        pattern = engine.compile(value)
    except ValueError as exc:
        raise ConditionError(path, f"bad regular expression ({engine.name}): {exc}", value) from exc
    return Compare(field, "matches", value, pattern, engine=engine.name)


def compile_condition(
    data: Any, path: str = "condition", registry: ConditionRegistry | None = None
) -> Condition:
    """Compile trusted condition data (configuration, code) into a :class:`Condition`; errors
    are :class:`ConditionError` naming the key path.

    ``registry`` gives the fields, plugin operators and regex engine; ``None`` uses
    :meth:`ConditionRegistry.builtin` (no plugin operator; ``matches`` with Python's ``re``).
    """
    reg = registry if registry is not None else ConditionRegistry.builtin()
    return _compile(data, path, reg, actor=False)


def compile_filter(data: Any, registry: ConditionRegistry, path: str = "where") -> Condition:
    """Compile a filter an actor supplied (the ``where=`` of a list, count or export).

    As :func:`compile_condition`, and: ``matches`` runs only on the registry's linear-time
    engine (none registered: :class:`ValidationError` naming ``where.<field>``), and a pattern
    that engine rejects is a :class:`ValidationError` naming ``where.<field>``.
    """
    return _compile(data, path, registry, actor=True)


def _compile(
    data: Any, path: str, reg: ConditionRegistry, *, actor: bool, depth: int = 0
) -> Condition:
    if depth > MAX_DEPTH:
        raise ConditionError(path, f"nests deeper than {MAX_DEPTH} levels")
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
            if len(value) > MAX_VALUES:
                raise ConditionError(sub, f"{key!r} takes at most {MAX_VALUES} conditions")
            items = [
                _compile(item, f"{sub}[{i}]", reg, actor=actor, depth=depth + 1)
                for i, item in enumerate(value)
            ]
            parts.append(all_of(items) if key == "all" else any_of(items))
        elif key == "not":
            parts.append(negate(_compile(value, sub, reg, actor=actor, depth=depth + 1)))
        elif not isinstance(key, str):
            raise ConditionError(path, "field names must be strings", key)
        elif isinstance(value, Mapping):
            if not value:
                raise ConditionError(sub, "needs an operator such as eq or in")
            for op, operand in value.items():
                parts.append(
                    _leaf(key, str(op), operand, path=f"{sub}.{op}", registry=reg, actor=actor)
                )
        else:
            parts.append(_leaf(key, "eq", value, path=sub, registry=reg, actor=actor))
    return all_of(parts)
