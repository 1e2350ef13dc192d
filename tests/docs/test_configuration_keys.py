"""docs/configuration-keys.md is generated from the parsers' key declarations and the condition
registry, and those declarations are the keys the parsers really accept (no drift either way)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from helpdesk_core.conditions import OPERATORS, ConditionRegistry, compile_condition
from helpdesk_core.config import ConfigRegistry, config_keys, declared_keys, default_registry
from helpdesk_core.errors import ConditionError

DOCS = Path(__file__).resolve().parents[2] / "docs"
Loader = Callable[[str], ModuleType]


def test_the_committed_page_is_what_the_code_declares(docs_script: Loader) -> None:
    render = docs_script("render_config_keys").render
    committed = (DOCS / "configuration-keys.md").read_text(encoding="utf-8")
    assert committed == render(), (
        "run: python docs/render_config_keys.py > docs/configuration-keys.md"
    )


def test_every_section_of_the_builtin_plugins_declares_its_keys() -> None:
    """A new section parser without a ``config_keys`` declaration fails here."""
    tables = default_registry().key_tables()
    undeclared = [
        name
        for name, declared in tables.items()
        if not declared and name not in ("priorities", "ticket_types", "channels")
    ]
    assert not undeclared, f"declare their keys with @config_keys: {undeclared}"


def test_every_operator_the_compiler_accepts_is_on_the_page() -> None:
    """The condition operators promised by the permissions chapter are listed (each compiles,
    and an operator the page does not list does not)."""
    text = (DOCS / "configuration-keys.md").read_text(encoding="utf-8")
    registry = ConditionRegistry.builtin()
    for op in OPERATORS:
        value: Any = {"in": ["a"], "not_in": ["a"], "exists": True}.get(op, "a")
        compile_condition({"subject": {op: value}}, "c", registry)
        assert f"| `{op}` |" in text, op
    with pytest.raises(ConditionError, match="unknown operator"):
        compile_condition({"subject": {"starts_with": "a"}}, "c", registry)
    assert "| `starts_with` |" not in text


def test_a_plugin_section_declares_keys_the_same_way() -> None:
    """A third-party section parser declares its tables with the same decorator and appears in
    the registry's key tables; one without a declaration is listed with no tables."""

    @config_keys({"sms": ("gateway", "sender"), "sms.retry": {"times"}})
    def parse_sms(value: Any, path: str, context: Any) -> Any:
        return value

    def parse_fax(value: Any, path: str, context: Any) -> Any:
        return value

    registry = ConfigRegistry()
    registry.add_section("sms", parse_sms)
    registry.add_section("fax", parse_fax)
    tables = registry.key_tables()
    assert tables["sms"] == {"sms": ("gateway", "sender"), "sms.retry": ("times",)}
    assert tables["fax"] == {}
    assert declared_keys(parse_fax) == {}
    assert tables["desk"]["desk"][0] == "default_priority"
