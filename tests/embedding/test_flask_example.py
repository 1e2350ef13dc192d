"""examples/embed_flask: a real Flask app with its own users and orders, embedding the desk on
its own engine and SQLite file, driven with Flask's test client (issue 25, "Embedding";
R-DATA: the shop's write and the ticket commit together or not at all)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("flask")
sa = pytest.importorskip("sqlalchemy")

APP = Path(__file__).resolve().parents[2] / "examples" / "embed_flask" / "app.py"


@pytest.fixture(scope="module")
def shop_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("embed_flask_app", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def shop(shop_module: ModuleType, tmp_path: Path) -> Iterator[Any]:
    app = shop_module.create_app(f"sqlite:///{tmp_path / 'shop.db'}")
    app.config["TESTING"] = True
    yield app
    shop_module.close(app)


def as_user(name: str) -> dict[str, str]:
    return {"X-User": name}


def order_status(client: Any, user: str) -> list[tuple[str, str | None]]:
    return [
        (o["status"], o["ticket_id"]) for o in client.get("/orders", headers=as_user(user)).json
    ]


def test_disputing_an_order_opens_a_ticket_an_agent_answers(
    shop: Any, shop_module: ModuleType
) -> None:
    """The shop's own user disputes their order: the order is marked and a ticket opened in one
    request; the shop's agent sees it and replies; the customer reads the reply."""
    ann = shop_module.add_user(shop, "ann", "customer")
    shop_module.add_user(shop, "bo", "agent", team="after-sales")
    order = shop_module.add_order(shop, ann, "teapot")
    client = shop.test_client()

    created = client.post(
        f"/orders/{order}/dispute",
        json={"subject": "Teapot arrived cracked", "description": "The lid is broken."},
        headers=as_user("ann"),
    )
    assert created.status_code == 201, created.json
    ticket = created.json
    assert order_status(client, "ann") == [("disputed", ticket["id"])]
    assert [t["id"] for t in client.get("/tickets", headers=as_user("bo")).json] == [ticket["id"]]

    answered = client.post(
        f"/tickets/{ticket['id']}/reply",
        json={"body": "A new teapot is on its way."},
        headers=as_user("bo"),
    )
    assert answered.status_code == 200, answered.json
    seen = client.get(f"/tickets/{ticket['id']}", headers=as_user("ann")).json
    assert seen["messages"][-1] == "A new teapot is on its way."
    activity = shop.extensions["shop"]["activity"].lines
    assert activity == [f"{ticket['number']} ticket_created", f"{ticket['number']} replied"]


def test_a_refused_ticket_leaves_the_order_untouched(shop: Any, shop_module: ModuleType) -> None:
    """The desk refuses the ticket (no subject) after the shop updated the order: the request
    fails with 422 and the order update is rolled back with it; nobody hears of anything."""
    ann = shop_module.add_user(shop, "ann", "customer")
    order = shop_module.add_order(shop, ann, "teapot")
    client = shop.test_client()
    refused = client.post(f"/orders/{order}/dispute", json={"subject": ""}, headers=as_user("ann"))
    assert refused.status_code == 422
    assert refused.json["error"].startswith("subject")
    assert order_status(client, "ann") == [("delivered", None)]
    assert client.get("/tickets", headers=as_user("ann")).json == []
    assert shop.extensions["shop"]["activity"].lines == []
    # and the same order can then be disputed properly, once
    ok = client.post(
        f"/orders/{order}/dispute", json={"subject": "Cracked"}, headers=as_user("ann")
    )
    again = client.post(
        f"/orders/{order}/dispute", json={"subject": "Again"}, headers=as_user("ann")
    )
    assert (ok.status_code, again.status_code) == (201, 409)


def test_app_users_map_to_actors_with_the_desks_permissions(
    shop: Any, shop_module: ModuleType
) -> None:
    """A customer of the shop sees only their own tickets; another customer gets 404 (hidden
    and missing alike), through the desk's own permission checks."""
    ann = shop_module.add_user(shop, "ann", "customer")
    shop_module.add_user(shop, "cy", "customer")
    order = shop_module.add_order(shop, ann, "teapot")
    client = shop.test_client()
    ticket = client.post(
        f"/orders/{order}/dispute", json={"subject": "Cracked"}, headers=as_user("ann")
    ).json
    assert client.get(f"/tickets/{ticket['id']}", headers=as_user("cy")).status_code == 404
    assert client.get("/tickets", headers=as_user("cy")).json == []
    assert client.get("/tickets", headers=as_user("nobody")).status_code == 401
    assert (
        client.post(f"/orders/{order}/dispute", json={}, headers=as_user("cy")).status_code == 404
    )
