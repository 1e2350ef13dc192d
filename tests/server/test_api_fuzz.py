"""The OpenAPI schema fuzzed with schemathesis over the app in process (issue 25): for every
operation, generated requests as an administrator and as a customer give no 5xx and no response
that breaks the published schema (status codes, content types, bodies)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from fastapi.routing import APIRoute  # noqa: E402
from helpdesk_server import api  # noqa: E402
from helpdesk_server.app import create_app  # noqa: E402
from helpdesk_server.wiring import open_desk  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_schema(
    server_config: str, seeded_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    copy = tmp_path_factory.mktemp("fuzz") / "desk.db"
    shutil.copyfile(seeded_file, copy)
    desk = open_desk(server_config, f"sqlite:///{copy}")
    yield schemathesis.openapi.from_asgi("/openapi.json", create_app(desk))
    desk.close()


OPERATIONS = sorted(
    (method, route.path)
    for route in api.router.routes
    if isinstance(route, APIRoute)
    for method in route.methods
)


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_server_errors_and_responses_match_the_schema(
    api_schema: Any, method: str, path: str
) -> None:
    """R-SEC-1: whatever the input, each operation answers with a documented status and body,
    for a caller who may do everything and for one who may do little."""
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case: Any) -> None:
        for token in ("demo-admin", "demo-customer"):
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    fuzz()
