"""A test kit for hosts and plugin authors: a fixed clock, a recording notifier, and the contract
tests every Storage must pass (subclass :class:`StorageContract` and provide ``storage``) and
every intake Channel must pass (:class:`ChannelContract`, fixtures ``channel`` and ``samples``).

The contracts need pytest (and hypothesis) and are imported on first use, so ``FixedClock`` and
``RecordingNotifier`` work in programs that do not install pytest (the demo, a host's scripts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from helpdesk_core.testing.doubles import FixedClock, RecordingNotifier

if TYPE_CHECKING:
    from helpdesk_core.testing.channel_contract import ChannelContract
    from helpdesk_core.testing.storage_contract import StorageContract

__all__ = ["ChannelContract", "FixedClock", "RecordingNotifier", "StorageContract"]


def __getattr__(name: str) -> Any:
    if name == "StorageContract":
        from helpdesk_core.testing.storage_contract import StorageContract

        return StorageContract
    if name == "ChannelContract":
        from helpdesk_core.testing.channel_contract import ChannelContract

        return ChannelContract
    raise AttributeError(f"module 'helpdesk_core.testing' has no attribute {name!r}")
