"""A small shop written in Flask that embeds a helpdesk (issue 25, "Embedding").

The shop owns its database, its SQLAlchemy engine and its tables (``users``, ``orders``). The
desk stores its tables in the same database, on the same engine (``Helpdesk(storage_url=
engine)``), and the shop maps its own users to :class:`~helpdesk_core.Actor` objects. Disputing
an order marks the order *and* opens a ticket in one transaction (``joined``): both are stored,
or neither is.

Run it::

    pip install 'helpdesk-core[sql]' flask
    python examples/embed_flask/app.py /tmp/shop.db      # http://127.0.0.1:5000/

Users sign in with an ``X-User`` header naming them (an example: a real shop uses its own
login). ``add_user`` and ``add_order`` seed the shop's own tables.
"""

from __future__ import annotations

import sys
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, abort, jsonify, request

from helpdesk_core import Actor, Helpdesk, hookimpl
from helpdesk_core.errors import (
    ConcurrencyConflict,
    HelpdeskError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from helpdesk_core.model.events import Event
from helpdesk_core.model.tickets import Ticket
from helpdesk_plugins.storage_sql import joined

# -- the shop's own tables (the desk never touches them) -----------------------------------------
SHOP = sa.MetaData()
users = sa.Table(
    "users",
    SHOP,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(80), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),  # customer | agent | supervisor
    sa.Column("team", sa.String(40)),
)
orders = sa.Table(
    "orders",
    SHOP,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id"), nullable=False),
    sa.Column("item", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, default="delivered"),
    sa.Column("ticket_id", sa.String(64)),
)

DESK_CONFIG: dict[str, Any] = {
    "desk": {"default_team": "after-sales"},
    # development only: a real shop sets HELPDESK_FIELD_KEY (docs/storage.md)
    "storage": {"encryption": "off"},
}


def actor_for(user: sa.Row[Any]) -> Actor:
    """The shop's user as the desk's actor: customers are ``customer-<id>``, staff keep their
    role and team."""
    if user.role == "customer":
        return Actor(id=f"customer-{user.id}", roles={"customer"}, organisation="shop")
    return Actor(id=f"staff-{user.id}", roles={user.role}, team=user.team)


class Activity:
    """The shop's feed of helpdesk events: told only of committed events."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    @hookimpl
    def helpdesk_event_committed(self, event: Event, ticket: Ticket) -> None:
        self.lines.append(f"{ticket.number} {event.kind}")


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "messages": [m.body for m in ticket.messages],
    }


def create_app(database_url: str) -> Flask:
    """The shop on the database at ``database_url`` (``sqlite:///shop.db``, PostgreSQL...)."""
    app = Flask(__name__)
    engine = sa.create_engine(database_url)
    SHOP.create_all(engine)
    activity = Activity()
    # one desk for the whole app: it is safe to share between Flask's request threads
    desk = Helpdesk(config=DESK_CONFIG, storage_url=engine, plugins=[activity])
    app.extensions["shop"] = {"engine": engine, "desk": desk, "activity": activity}

    def signed_in() -> tuple[sa.Row[Any], Actor]:
        with engine.connect() as conn:
            user = conn.execute(
                sa.select(users).where(users.c.name == request.headers.get("X-User", ""))
            ).first()
        if user is None:
            abort(401)
        return user, actor_for(user)

    @app.errorhandler(HelpdeskError)
    def helpdesk_error(exc: HelpdeskError) -> tuple[Response, int]:
        status = 500
        if isinstance(exc, ValidationError):
            status = 422
        elif isinstance(exc, PermissionDenied):
            status = 403
        elif isinstance(exc, NotFound):
            status = 404
        elif isinstance(exc, ConcurrencyConflict):
            status = 409
        return jsonify(error=str(exc)), status

    @app.post("/orders/<int:order_id>/dispute")
    def dispute(order_id: int) -> tuple[Response, int]:
        """Mark the order disputed and open a ticket about it: one transaction."""
        user, actor = signed_in()
        form = request.get_json(force=True)
        with engine.begin() as conn, joined(desk, conn):
            order = conn.execute(
                sa.select(orders).where(orders.c.id == order_id, orders.c.user_id == user.id)
            ).first()
            if order is None:
                abort(404)
            if order.status == "disputed":
                return jsonify(error="already disputed", ticket_id=order.ticket_id), 409
            conn.execute(orders.update().where(orders.c.id == order_id).values(status="disputed"))
            ticket = desk.open_ticket(
                actor,
                subject=form.get("subject", ""),
                description=form.get("description", ""),
                channel="web_form",
            )
            conn.execute(orders.update().where(orders.c.id == order_id).values(ticket_id=ticket.id))
        return jsonify(ticket_json(ticket)), 201

    @app.get("/tickets")
    def my_tickets() -> Response:
        _, actor = signed_in()
        return jsonify([ticket_json(t) for t in desk.tickets(actor)])

    @app.get("/tickets/<ticket_id>")
    def one_ticket(ticket_id: str) -> Response:
        _, actor = signed_in()
        return jsonify(ticket_json(desk.get_ticket(actor, ticket_id)))

    @app.post("/tickets/<ticket_id>/reply")
    def reply(ticket_id: str) -> Response:
        _, actor = signed_in()
        body = request.get_json(force=True).get("body", "")
        return jsonify(ticket_json(desk.reply(actor, ticket_id, body)))

    @app.get("/orders")
    def my_orders() -> Response:
        user, _ = signed_in()
        with engine.connect() as conn:
            rows = conn.execute(sa.select(orders).where(orders.c.user_id == user.id)).all()
        return jsonify([dict(row._mapping) for row in rows])

    return app


def add_user(app: Flask, name: str, role: str, team: str | None = None) -> int:
    """Seed the shop's own ``users`` table; returns the new id."""
    engine: sa.Engine = app.extensions["shop"]["engine"]
    with engine.begin() as conn:
        result = conn.execute(users.insert().values(name=name, role=role, team=team))
        return int(result.inserted_primary_key[0])


def add_order(app: Flask, user_id: int, item: str) -> int:
    engine: sa.Engine = app.extensions["shop"]["engine"]
    with engine.begin() as conn:
        result = conn.execute(orders.insert().values(user_id=user_id, item=item))
        return int(result.inserted_primary_key[0])


def close(app: Flask) -> None:
    """Close the desk (the engine stays the shop's), then dispose the shop's engine."""
    app.extensions["shop"]["desk"].close()
    app.extensions["shop"]["engine"].dispose()


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "shop.db"
    shop = create_app(f"sqlite:///{path}")
    shop.run()
