"""Configuration: TOML or dict in, validated objects out; errors name the key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helpdesk_core import ConfigError, Helpdesk, ValidationError, load_config

TOML = """
priorities = ["urgent", "high", "normal", "low"]
ticket_types = ["consultation", "complaint", "after_sales", "technical_support"]

[desk]
name = "acme"
timezone = "Asia/Shanghai"
ticket_prefix = "HD"

[custom_fields.order_id]
type = "text"
required = true

[custom_fields.complexity]
type = "int"

[custom_fields.region]
type = "choice"
choices = ["north", "south"]

[custom_fields.delivery_date]
type = "date"
"""


def test_loads_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "helpdesk.toml"
    path.write_text(TOML, encoding="utf-8")
    config = load_config(path)
    assert config.desk.timezone == "Asia/Shanghai"
    assert config.custom_fields["order_id"].required
    assert load_config(TOML) == config
    assert load_config(str(path)) == config


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"desk": {"timezone": "Mars/Olympus"}}, "desk.timezone"),
        ({"desk": {"tz": "UTC"}}, "desk.tz"),
        ({"priorities": "high"}, "priorities"),
        ({"priorities": ["High"]}, "priorities[0]"),
        ({"priorities": ["a", "a"]}, "priorities"),
        ({"desk": {"default_priority": "p9"}}, "desk.default_priority"),
        ({"custom_fields": {"x": {"type": "strng"}}}, "custom_fields.x.type"),
        ({"custom_fields": {"x": {"type": "choice"}}}, "custom_fields.x.choices"),
        ({"custom_fields": {"x": {"type": "int", "requird": True}}}, "custom_fields.x.requird"),
        ({"workflow": {"statuses": {"new": "fresh"}}}, "workflow.statuses.new"),
        (
            {"workflow": {"statuses": {"new": "new"}, "transitions": [{"from": "new", "to": "x"}]}},
            "workflow.transitions[0].to",
        ),
        ({"slaa": {}}, "slaa"),
    ],
)
def test_errors_name_key_path(raw: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(raw)
    assert info.value.path == path, str(info.value)
    assert str(info.value).startswith(path)


def test_bad_toml_says_so(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[desk\nname=1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_custom_fields_are_typed_and_required() -> None:
    desk = Helpdesk(config=TOML, load_entrypoints=False)
    from helpdesk_core import Actor

    agent = Actor(id="a", roles={"agent"})
    with pytest.raises(ValidationError, match=r"custom\.order_id: is required"):
        desk.open_ticket(agent, subject="s", channel="email")
    with pytest.raises(ValidationError, match=r"custom\.complexity"):
        desk.open_ticket(
            agent, subject="s", channel="email", custom={"order_id": "A", "complexity": "9"}
        )
    with pytest.raises(ValidationError, match=r"custom\.region"):
        desk.open_ticket(
            agent, subject="s", channel="email", custom={"order_id": "A", "region": "east"}
        )
    with pytest.raises(ValidationError, match=r"custom\.colour: unknown custom field"):
        desk.open_ticket(agent, subject="s", channel="email", custom={"order_id": "A", "colour": 1})
    t = desk.open_ticket(
        agent,
        subject="s",
        channel="email",
        custom={"order_id": "A1", "complexity": 9, "delivery_date": "2026-11-30"},
    )
    assert t.custom == {"order_id": "A1", "complexity": 9, "delivery_date": "2026-11-30"}
    assert t.number.startswith("HD")
    assert desk.tickets(agent, where={"custom.complexity": {"gte": 8}}) == [t]
