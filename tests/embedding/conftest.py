"""Fixtures for the embedding tests: a host engine per database, a desk on it, an observer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from embedding_hosts import CONFIG, Observer, host_engine

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.testing import FixedClock

sa = pytest.importorskip("sqlalchemy")


@pytest.fixture(
    params=["sqlite", "sqlite_begins", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.engine.Engine]:
    """The host application's engine, with its own table ``app_notes``."""
    with host_engine(request.param, tmp_path) as engine:
        yield engine


@pytest.fixture
def observer() -> Observer:
    return Observer()


@pytest.fixture
def make_desk(engine: sa.engine.Engine, observer: Observer) -> Iterator[Callable[..., Helpdesk]]:
    desks: list[Helpdesk] = []

    def make(**kwargs: object) -> Helpdesk:
        kwargs.setdefault("config", CONFIG)
        desk = Helpdesk(
            storage_url=engine,
            plugins=[observer],
            clock=FixedClock("2026-11-02T09:00:00+08:00"),
            load_entrypoints=False,
            **kwargs,  # type: ignore[arg-type]
        )
        desks.append(desk)
        return desk

    yield make
    for desk in desks:
        desk.close()


@pytest.fixture
def agent() -> Actor:
    return Actor(id="a-17", roles={"agent"}, team="after-sales", department="service")
