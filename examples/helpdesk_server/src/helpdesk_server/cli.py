"""``helpdesk serve`` and ``helpdesk demo``: added to the ``helpdesk`` command through the
``helpdesk.cli`` entry-point group (:func:`register`)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from datetime import UTC, datetime
from types import FrameType

from helpdesk_plugins.cli import EPILOG, Subcommands
from helpdesk_server.wiring import DEMO_DATABASE, open_desk, server_settings


def register(commands: Subcommands[argparse.ArgumentParser]) -> None:
    """Add ``serve`` and ``demo`` to the ``helpdesk`` command."""
    serve = commands.add_parser(
        "serve",
        help="serve the HTTP API (/api/v1) and the web UI",
        description="Serve the HTTP API under /api/v1 and the web UI over one desk. "
        "Environment: HELPDESK_DATABASE_URL, HELPDESK_CONFIG.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(serve)
    serve.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    serve.set_defaults(run=_serve)
    demo = commands.add_parser(
        "demo",
        help="seed the demo desk (once) and serve it on http://127.0.0.1:8000/",
        description="Seed demo data into an empty database (customers, a simulated day of "
        "tickets, today's queue, KB articles), then serve it on 127.0.0.1.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(demo)
    demo.set_defaults(run=_demo, host="127.0.0.1")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        help="desk TOML with a [server] section (default: HELPDESK_CONFIG, else the bundled "
        "demo.toml)",
    )
    parser.add_argument(
        "--url",
        help=f"database URL (default: HELPDESK_DATABASE_URL, else {DEMO_DATABASE})",
    )
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default: 8000)")


def _quiet() -> None:
    """No migration chatter on the console (``--log-level DEBUG`` still shows it)."""
    if logging.getLogger().level > logging.DEBUG:
        for name in ("alembic", "helpdesk"):
            logging.getLogger(name).setLevel(logging.WARNING)


class _Stopped(Exception):
    """SIGTERM or SIGINT once the server has shut down (or before it started)."""


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise _Stopped(signum)


def _serve(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT, then finish the requests in flight, close the desk and
    exit 0. (uvicorn handles the signal while it serves and raises it again once it has shut
    down; the handler installed here turns that into a normal return, so the desk's
    connections are closed and the exit code is 0, as for ``helpdesk worker``.)"""
    import uvicorn

    _quiet()
    from helpdesk_server.app import create_app

    desk = open_desk(args.config, args.url)
    print(f"helpdesk: serving {desk.storage.url} on http://{args.host}:{args.port}/", flush=True)
    previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        uvicorn.run(create_app(desk), host=args.host, port=args.port, log_level="warning")
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        desk.close()
    return 0


def _demo(args: argparse.Namespace) -> int:
    from helpdesk_server.seed import ADMIN, seed_demo

    _quiet()
    url = args.url or DEMO_DATABASE
    desk = open_desk(args.config, url)
    try:
        if desk.count_tickets(ADMIN) == 0:
            print(f"helpdesk: seeding demo data into {url} ...", flush=True)
            summary = seed_demo(
                desk,
                server_settings(desk),
                now=datetime.now(UTC),
                progress=lambda step: print(f"  {step}", flush=True),
            )
            print(
                f"helpdesk: {summary.simulated_tickets + summary.queue_tickets} tickets, "
                f"{summary.customers} customers, {summary.articles} KB articles",
                flush=True,
            )
        else:
            print(f"helpdesk: {url} already has tickets; keeping them (delete it to reseed)")
    finally:
        desk.close()
    print(
        f"helpdesk: open http://127.0.0.1:{args.port}/ and pick a demo user "
        "(Ctrl-C stops the server)",
        flush=True,
    )
    args.url = url
    return _serve(args)


if __name__ == "__main__":  # pragma: no cover
    from helpdesk_plugins.cli import main

    sys.exit(main(["serve", *sys.argv[1:]]))
