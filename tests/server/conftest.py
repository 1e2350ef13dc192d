"""Fixtures of the reference server's tests: one small seeded SQLite desk per session (copied
for tests that write), the ASGI app over it, and a real uvicorn server on a free loopback port
for the browser tests."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from browser_env import BROWSER_SKIP_REASON, REQUIRE_BROWSER_ENV  # type: ignore[import-not-found]

pytest.importorskip("fastapi", reason="the reference server is not installed")
pytest.importorskip("helpdesk_server", reason="pip install -e examples/helpdesk_server")

from helpdesk_server.app import create_app
from helpdesk_server.seed import SeedSummary, seed_demo
from helpdesk_server.wiring import DEMO_CONFIG, open_desk, server_settings


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """With HELPDESK_REQUIRE_BROWSER set (CI), a browser test skipped for lack of chromium or
    playwright fails instead (the same rule as HELPDESK_REQUIRE_POSTGRES)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if (
        report.skipped
        and os.environ.get(REQUIRE_BROWSER_ENV)
        and BROWSER_SKIP_REASON in str(report.longrepr)
    ):
        report.outcome = "failed"
        report.longrepr = f"{REQUIRE_BROWSER_ENV} is set but this test was skipped: " + str(
            report.longrepr
        )


TOKENS = {
    "customer": "demo-customer",
    "customer2": "demo-customer-2",
    "agent": "demo-agent",
    "agent2": "demo-agent-2",
    "supervisor": "demo-supervisor",
    "manager": "demo-manager",
    "admin": "demo-admin",
}


@pytest.fixture(scope="session")
def server_config(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo configuration with a small simulated day (fast to seed)."""
    text = DEMO_CONFIG.read_text(encoding="utf-8").replace(
        "peak_per_hour = 20", "peak_per_hour = 3"
    )
    assert "peak_per_hour = 3" in text
    path = tmp_path_factory.mktemp("server") / "demo-small.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture(scope="session")
def seeded_file(server_config: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file seeded once per session; tests copy it before writing."""
    path = tmp_path_factory.mktemp("seeded") / "demo.db"
    desk = open_desk(server_config, f"sqlite:///{path}")
    try:
        summary = seed_demo(desk, server_settings(desk), now=datetime.now(UTC))
    finally:
        desk.close()
    assert isinstance(summary, SeedSummary) and summary.simulated_tickets > 0
    return path


def copy_of(seeded: Path, directory: Path) -> str:
    target = directory / "desk.db"
    shutil.copyfile(seeded, target)
    return f"sqlite:///{target}"


@pytest.fixture(scope="session")
def session_app(
    server_config: str, seeded_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """The app over a session-wide copy of the seeded desk (tests may write to it)."""
    url = copy_of(seeded_file, tmp_path_factory.mktemp("app"))
    desk = open_desk(server_config, url)
    try:
        yield create_app(desk)
    finally:
        desk.close()


@pytest.fixture(scope="session")
def client(session_app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(session_app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def auth() -> Any:
    """``auth("agent")``: the headers of a demo user of that role."""

    def headers(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKENS[role]}"}

    return headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_server(
    server_config: str, seeded_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real uvicorn server on a free loopback port over a fresh copy of the seeded desk, in
    a thread; yields its base URL."""
    import uvicorn

    url = copy_of(seeded_file, tmp_path_factory.mktemp("live"))
    desk = open_desk(server_config, url)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(desk), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        desk.close()
