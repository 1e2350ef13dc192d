"""The shared storage contract on SQLite (file and temporary) and PostgreSQL (R-DATA, issue 9)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpdesk_core.testing import StorageContract
from helpdesk_plugins.storage_sql import open_storage
from helpdesk_plugins.storage_sql.store import SqlStorage


class TestSqliteFile(StorageContract):
    @pytest.fixture
    def storage(self, sqlite_url: str) -> Iterator[SqlStorage]:
        store = open_storage(sqlite_url)
        yield store
        store.close()


class TestSqliteTemporary(StorageContract):
    @pytest.fixture
    def storage(self) -> Iterator[SqlStorage]:
        store = open_storage("sqlite://")
        yield store
        store.close()


@pytest.mark.postgres
class TestPostgres(StorageContract):
    @pytest.fixture
    def storage(self, pg_url: str) -> Iterator[SqlStorage]:
        store = open_storage(pg_url)
        yield store
        store.close()
