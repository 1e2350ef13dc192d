"""The ASGI application: the API (:mod:`helpdesk_server.api`), the web UI
(:mod:`helpdesk_server.ui`) and its static files, over one shared :class:`Helpdesk`.

The facade is synchronous; every route is a plain ``def``, which FastAPI runs in its thread
pool, so a slow database call blocks one worker thread, never the event loop. One desk object
serves all threads (its store opens a connection per command's transaction).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from helpdesk_core import Helpdesk
from helpdesk_server import __version__, api, errors, ui
from helpdesk_server.settings import ServerSettings
from helpdesk_server.wiring import server_settings

STATIC = Path(__file__).with_name("static")


def create_app(desk: Helpdesk, settings: ServerSettings | None = None) -> FastAPI:
    """The server for ``desk``; users come from ``settings`` or the desk's ``[server]``."""
    app = FastAPI(
        title=f"{(settings or server_settings(desk)).title} API",
        version=__version__,
        description="The helpdesk_core facade over HTTP. Authenticate with "
        "`Authorization: Bearer <token>` (tokens: the `[server.users]` table of the config).",
    )
    app.state.desk = desk
    app.state.settings = settings or server_settings(desk)
    errors.install(app)
    app.include_router(api.router)
    app.include_router(ui.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
