"""A test kit for hosts and plugin authors: a fixed clock, a recording notifier, and the contract
tests every Storage must pass (subclass :class:`StorageContract` and provide ``storage``)."""

from helpdesk_core.testing.doubles import FixedClock, RecordingNotifier
from helpdesk_core.testing.storage_contract import StorageContract

__all__ = ["FixedClock", "RecordingNotifier", "StorageContract"]
