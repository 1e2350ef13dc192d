"""The server on PostgreSQL by URL (issue 25): the same demo seed and the same API calls as on
SQLite, in a scratch schema."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

pytest.importorskip("helpdesk_server", reason="pip install -e examples/helpdesk_server")

from fastapi.testclient import TestClient
from helpdesk_server.app import create_app
from helpdesk_server.seed import seed_demo
from helpdesk_server.wiring import open_desk, server_settings

from helpdesk_core.testing.postgres import POSTGRES_SKIP_REASON, postgres_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_client(server_config: str) -> Iterator[Any]:
    base = postgres_url()
    if base is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    from helpdesk_plugins.storage_sql.scratch import scratch_schema

    with scratch_schema(base, "hd_server") as url:
        desk = open_desk(server_config, url)
        try:
            seed_demo(desk, server_settings(desk), now=datetime.now(UTC))
            with TestClient(create_app(desk)) as client:
                yield client
        finally:
            desk.close()


def test_seeded_demo_serves_the_api_on_postgres(pg_client: Any) -> None:
    agent = {"Authorization": "Bearer demo-agent"}
    customer = {"Authorization": "Bearer demo-customer"}
    page = pg_client.get("/api/v1/tickets", headers=agent, params={"status": "new"}).json()
    assert page["items"] and all(t["status"] == "new" for t in page["items"])
    opened = pg_client.post("/api/v1/tickets", headers=customer, json={"subject": "On Postgres"})
    assert opened.status_code == 201
    tid = opened.json()["id"]
    assert pg_client.post(f"/api/v1/tickets/{tid}/claim", headers=agent).status_code == 200
    again = pg_client.post(
        f"/api/v1/tickets/{tid}/claim", headers={"Authorization": "Bearer demo-agent-2"}
    )
    assert again.status_code == 409 and again.json()["error"] == "AlreadyClaimed"
    hits = pg_client.get("/api/v1/kb/search", headers=customer, params={"q": "password"}).json()
    assert hits and hits[0]["article"]["title"] == "Resetting your password"
