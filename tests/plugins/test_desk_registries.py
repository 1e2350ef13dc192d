"""Registries belong to a desk, not the process (issue 17): config sections, condition operators
and fields, and the regular-expression engine come from one desk's plugins; a config is parsed
once per desk (one calendars object shared by SLA, escalation and routing)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core import Helpdesk, hookimpl
from helpdesk_core.conditions import (
    PYTHON_RE,
    ConditionRegistry,
    RegexEngine,
    compile_condition,
    compile_filter,
)
from helpdesk_core.config import ConfigContext, ConfigRegistry, SectionRegistrar, load_config
from helpdesk_core.errors import ConditionError, ConfigError, ValidationError
from helpdesk_core.plugins import PluginManager
from helpdesk_core.sla import SlaConfig
from helpdesk_plugins.regex_re2 import re2_engine

re2 = pytest.importorskip("re2", reason="the linear-time engine needs the 're2' extra")

ROUTING_WITH_OPERATOR = {
    "routing": {
        "auto": False,
        "priority": [{"where": {"subject": {"shouts": True}}, "priority": "urgent"}],
    }
}


class Shouting:
    """A plugin operator: the subject is written in capitals."""

    @hookimpl
    def helpdesk_register_conditions(self, registry: ConditionRegistry) -> None:
        registry.add_operator("shouts", lambda value, wanted: str(value).isupper() is wanted)
        registry.add_field("mood")


class Sms:
    @hookimpl
    def helpdesk_register_config_sections(self, register: SectionRegistrar) -> None:
        register("sms", parse_sms)


def parse_sms(value: Any, path: str, context: ConfigContext) -> str:
    if not isinstance(value, dict) or not isinstance(value.get("sender_id"), str):
        raise ConfigError(f"{path}.sender_id", "must be the gateway's sender id", value)
    return value["sender_id"]


def test_a_plugin_operator_belongs_to_the_desk_that_has_the_plugin() -> None:
    """Two desks in one process: the one without the plugin can neither compile the operator
    in its config nor in a filter, even after the other desk was built."""
    with_plugin = Helpdesk(ROUTING_WITH_OPERATOR, plugins=[Shouting()], load_entrypoints=False)
    assert "shouts" in with_plugin.conditions.operators
    with pytest.raises(ConfigError, match=r"routing\.priority\[0\]\.where\.subject\.shouts"):
        Helpdesk(ROUTING_WITH_OPERATOR, load_entrypoints=False)
    plain = Helpdesk(load_entrypoints=False)
    assert "shouts" not in plain.conditions.operators and not plain.conditions.knows("mood")
    with pytest.raises(ConditionError, match="unknown operator 'shouts'"):
        compile_filter({"subject": {"shouts": True}}, plain.conditions)
    with pytest.raises(ConditionError, match="unknown operator 'shouts'"):
        compile_condition({"subject": {"shouts": True}})
    shouted = compile_filter({"subject": {"shouts": True}}, with_plugin.conditions)
    assert shouted.matches({"subject": "SITE DOWN"}) and not shouted.matches({"subject": "hi"})


def test_a_compiled_condition_runs_without_any_registry_lookup() -> None:
    registry = ConditionRegistry.builtin()
    registry.add_operator("shouts", lambda value, wanted: str(value).isupper() is wanted)
    condition = compile_condition({"subject": {"shouts": True}}, registry=registry)
    registry.operators.clear()  # the registry changing later does not matter
    assert condition.matches({"subject": "LOUD"})


def test_a_config_section_belongs_to_the_desk_that_has_the_plugin() -> None:
    config = {"sms": {"sender_id": "HELPDESK"}}
    desk = Helpdesk(config, plugins=[Sms()], load_entrypoints=False)
    assert desk.config.sections["sms"] == "HELPDESK"
    with pytest.raises(ConfigError, match=r"^sms: unknown section"):
        Helpdesk(config, load_entrypoints=False)
    with pytest.raises(ConfigError, match=r"^sms: unknown section"):
        load_config(config)  # standalone: the built-in plugins only


def test_a_parsed_config_handed_to_another_desk_is_checked_against_that_desk() -> None:
    registry = PluginManager([Shouting()], load_entrypoints=False).config_registry()
    config = load_config(ROUTING_WITH_OPERATOR, registry=registry)
    assert Helpdesk(config, plugins=[Shouting()], load_entrypoints=False).routing is not None
    with pytest.raises(ConfigError, match=r"routing\.priority\[0\]\.where"):
        Helpdesk(config, load_entrypoints=False)
    standalone = load_config({"desk": {"name": "x"}})
    desk = Helpdesk(standalone, load_entrypoints=False)
    assert desk.config is standalone  # same plugins: taken as it is, not parsed again


def test_the_built_in_sections_are_registered_by_the_built_in_plugin() -> None:
    registry = PluginManager(load_entrypoints=False).config_registry()
    assert set(registry.sections) == {
        "calendars", "sla", "routing", "escalation", "permissions", "customers", "duplicates",
        "alarms", "surveys", "problem_records", "reviews", "storage", "email", "webhook",
    }  # fmt: skip
    assert registry.sections["calendars"].__module__ == "helpdesk_core.calendars"
    assert registry.sections["storage"].__module__ == "helpdesk_plugins.storage_sql.settings"


def test_sections_cannot_be_registered_twice_or_over_a_core_key() -> None:
    registry = ConfigRegistry()
    registry.add_section("sms", parse_sms)
    registry.add_section("sms", parse_sms)  # the same parser again: harmless
    with pytest.raises(ConfigError, match="two plugins register"):
        registry.add_section("sms", lambda value, path, context: value)
    with pytest.raises(ConfigError, match="core section"):
        registry.add_section("desk", parse_sms)


CALENDARS_EVERYWHERE = {
    "calendars": {"support": {"tz": "Asia/Shanghai", "week": {"mon-fri": ["09:00-18:00"]}}},
    "sla": {
        "policies": [{"name": "std", "calendar": "support", "targets": {"*": {"resolution": "8h"}}}]
    },
    "escalation": {
        "policies": [
            {
                "name": "idle",
                "calendar": "support",
                "levels": [{"trigger": {"idle": "2h"}, "notify": ["supervisor"]}],
            }
        ]
    },
}


def test_one_calendar_table_is_one_object_for_sla_escalation_and_routing() -> None:
    """Config is parsed once (issue 17): ``[calendars.support]`` is one BusinessCalendar."""
    desk = Helpdesk(CALENDARS_EVERYWHERE, load_entrypoints=False)
    calendar = desk.config.sections["calendars"]["support"]
    sla = desk.config.sections["sla"]
    assert isinstance(sla, SlaConfig)
    assert sla.calendars["support"] is calendar
    assert desk.escalation is not None
    assert desk.escalation.policies[0].calendar is calendar
    assert desk.calendars["support"] is calendar  # routing's shift calendars


def test_actor_patterns_need_the_linear_engine() -> None:
    """Defect 7: without a linear-time engine a filter's ``matches`` is refused, naming
    ``where.<field>``; configuration patterns fall back to Python's ``re``."""
    bare = ConditionRegistry.builtin()
    with pytest.raises(ValidationError) as refused:
        compile_filter({"subject": {"matches": "^a"}}, bare)
    assert refused.value.field == "where.subject"
    assert compile_condition({"subject": {"matches": "^a"}}, registry=bare).matches(
        {"subject": "ab"}
    )
    backtracking = ConditionRegistry.builtin()
    backtracking.set_regex_engine(PYTHON_RE)
    with pytest.raises(ValidationError):
        compile_filter({"subject": {"matches": "^a"}}, backtracking)


def test_a_pattern_the_engine_rejects_names_the_field() -> None:
    desk = Helpdesk(load_entrypoints=False)
    assert desk.conditions.regex is not None and desk.conditions.regex.name == "re2"
    with pytest.raises(ValidationError) as rejected:
        compile_filter({"custom.order": {"matches": r"(a)\1"}}, desk.conditions)
    assert rejected.value.field == "where.custom.order"
    with pytest.raises(ValidationError) as not_text:
        compile_filter({"subject": {"matches": 3}}, desk.conditions)
    assert not_text.value.field == "where.subject"
    with pytest.raises(ConfigError, match=r"routing\.priority\[0\]\.where\.subject\.matches"):
        Helpdesk(
            {
                "routing": {
                    "priority": [{"where": {"subject": {"matches": "(?=a)"}}, "priority": "high"}]
                }
            },
            load_entrypoints=False,
        )


def test_a_host_plugin_may_bring_its_own_engine() -> None:
    calls: list[str] = []

    def compile_counting(pattern: str) -> Any:
        calls.append(pattern)
        return re2.compile(pattern)

    class OwnEngine:
        @hookimpl
        def helpdesk_register_conditions(self, registry: ConditionRegistry) -> None:
            registry.set_regex_engine(RegexEngine("counting-re2", compile_counting, linear=True))

    desk = Helpdesk(plugins=[OwnEngine()], load_entrypoints=False)
    condition = compile_filter({"subject": {"matches": "^Par"}}, desk.conditions)
    assert calls == ["^Par"] and condition.matches({"subject": "Parcel"})


ATOMS = st.sampled_from(["a", "b", ".", "[ab]", "[^a]", r"\d", r"\s", "(a|b)", "(?:ab)", "é"])
QUANTIFIERS = st.sampled_from(["", "*", "+", "?", "{1,2}", "*?"])
PIECES = st.lists(st.tuples(ATOMS, QUANTIFIERS), min_size=1, max_size=4)


@settings(max_examples=300, deadline=None)
@given(
    PIECES,
    st.booleans(),
    st.booleans(),
    st.text(alphabet="ab1é -", max_size=12),
)
def test_re2_finds_what_python_re_finds(
    pieces: list[tuple[str, str]], start: bool, end: bool, text: str
) -> None:
    """Configuration patterns keep their meaning on RE2 for the syntax both engines share
    (anchors, classes, alternation, greedy and lazy quantifiers)."""
    pattern = ("^" if start else "") + "".join(a + q for a, q in pieces) + ("$" if end else "")
    engine = re2_engine()
    assert engine is not None and engine.linear
    ours = compile_filter({"subject": {"matches": pattern}}, _registry_with(engine))
    python = compile_condition({"subject": {"matches": pattern}})  # Python's re
    assert ours.matches({"subject": text}) is python.matches({"subject": text})


def _registry_with(engine: RegexEngine) -> ConditionRegistry:
    registry = ConditionRegistry.builtin()
    registry.set_regex_engine(engine)
    return registry


def test_re2_word_classes_are_ascii() -> None:
    """The one difference the shared syntax has (docs/plugins.md): RE2's ``\\w`` is ASCII,
    Python's is Unicode; on RE2 ``\\pL`` is a letter of any script."""
    engine = re2_engine()
    assert engine is not None
    registry = _registry_with(engine)
    assert not compile_filter({"subject": {"matches": r"^\w$"}}, registry).matches({"subject": "é"})
    assert compile_filter({"subject": {"matches": r"^\pL$"}}, registry).matches({"subject": "é"})
