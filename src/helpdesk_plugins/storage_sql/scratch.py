"""Throw-away PostgreSQL schemas for tests and benchmarks: each run gets its own, so runs never
interfere, and the schema is dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import sqlalchemy as sa


def schema_url(base: str, schema: str) -> str:
    """``base`` with a libpq option that makes ``schema`` the search path."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def scratch_schema(base: str, prefix: str = "hd_scratch") -> Iterator[str]:
    """Create a fresh schema in the database at ``base``; yield a URL that uses it."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield schema_url(base, schema)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        engine.dispose()
