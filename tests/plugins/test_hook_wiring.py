"""Plugins reach the condition language and register intake channels through their hooks
(docs/plugins.md; hooks ``helpdesk_register_conditions`` and ``helpdesk_register_channels``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk_core import Actor, Helpdesk, hookimpl
from helpdesk_core.conditions import ConditionRegistry
from helpdesk_core.errors import ConfigError, PluginError
from helpdesk_core.ports import InboundMessage
from helpdesk_core.testing import FixedClock

CUSTOMER = Actor(id="C1", roles={"customer"})
ROUTING = {
    "routing": {
        "auto": False,
        "priority": [
            {"where": {"subject": {"wiring_starts_with": "URGENT"}}, "priority": "urgent"}
        ],
    }
}


class Operators:
    @hookimpl
    def helpdesk_register_conditions(self, registry: ConditionRegistry) -> None:
        registry.add_operator(
            "wiring_starts_with", lambda value, prefix: str(value).startswith(prefix)
        )
        registry.add_field("wiring_field")


def test_a_plugin_operator_is_usable_in_the_desk_config() -> None:
    clock = FixedClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    desk = Helpdesk(ROUTING, plugins=[Operators()], clock=clock, load_entrypoints=False)
    urgent = desk.open_ticket(CUSTOMER, subject="URGENT: site down", channel="email")
    calm = desk.open_ticket(CUSTOMER, subject="a question", channel="email")
    assert (urgent.priority, calm.priority) == ("urgent", "normal")


def test_an_unknown_operator_is_still_a_config_error_naming_the_path() -> None:
    with pytest.raises(ConfigError, match=r"routing\.priority\[0\]\.where"):
        Helpdesk(
            {"routing": {"priority": [{"where": {"subject": {"nope_op": 1}}, "priority": "high"}]}},
            load_entrypoints=False,
        )


class Sms:
    name = "sms-gateway"

    def parse(self, raw: bytes, now: datetime) -> InboundMessage | None:
        sender, _, text = raw.decode().partition(":")
        if not text:
            return None
        return InboundMessage(self.name, sender, text[:40], text, now)


class Channels:
    def __init__(self, *channels: Any) -> None:
        self.found = list(channels)

    @hookimpl
    def helpdesk_register_channels(self, config: object) -> list[Any]:
        return self.found


def test_channels_from_plugins_are_collected_by_name() -> None:
    desk = Helpdesk(plugins=[Channels(Sms())], load_entrypoints=False)
    now = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    message = desk.channels["sms-gateway"].parse(b"+8613800000000:parcel broken", now)
    assert message is not None and message.sender == "+8613800000000"
    assert desk.channels["sms-gateway"].parse(b"no colon", now) is None


def test_duplicate_or_malformed_channels_are_refused() -> None:
    with pytest.raises(PluginError, match="sms-gateway"):
        Helpdesk(plugins=[Channels(Sms()), Channels(Sms())], load_entrypoints=False)
    with pytest.raises(PluginError, match="not a Channel"):
        Helpdesk(plugins=[Channels(object())], load_entrypoints=False)
