"""Fixtures for the SQL store: a SQLite file per test and a PostgreSQL schema per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpdesk_core.testing.postgres import POSTGRES_SKIP_REASON, postgres_url

sa = pytest.importorskip("sqlalchemy")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'desk.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards; the URL selects it."""
    from helpdesk_plugins.storage_sql.scratch import scratch_schema

    base = postgres_url()
    if base is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    with scratch_schema(base, "hd_test") as url:
        yield url
