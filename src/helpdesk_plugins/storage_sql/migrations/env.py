"""Alembic environment for the helpdesk SQL schema (run by ``helpdesk db upgrade``)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from helpdesk_plugins.storage_sql.schema import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is None:  # plain `alembic -x url=...` use
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("give the database: alembic -x url=sqlite:///desk.db upgrade head")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
