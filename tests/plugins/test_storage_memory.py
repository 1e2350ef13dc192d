"""The in-memory store passes the shared storage contract."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpdesk_core.testing import StorageContract
from helpdesk_plugins.storage_memory import MemoryStorage


class TestMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self) -> Iterator[MemoryStorage]:
        store = MemoryStorage()
        yield store
        store.close()
