"""The library's errors as HTTP statuses, each response carrying the library's own message:
``ValidationError`` 422, ``PermissionDenied`` 403, ``NotFound`` 404 (hidden and missing alike),
``ConcurrencyConflict``, ``AlreadyClaimed`` and ``InvalidTransition`` 409; no token 401."""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from helpdesk_core.errors import (
    AlreadyClaimed,
    CalendarError,
    ConcurrencyConflict,
    ConfigError,
    HelpdeskError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    StorageError,
    ValidationError,
)
from helpdesk_server.auth import Unauthenticated
from helpdesk_server.schemas import ErrorBody

STATUSES: Final[tuple[tuple[type[HelpdeskError], int], ...]] = (
    (ValidationError, 422),
    (ConfigError, 422),
    (CalendarError, 422),
    (PermissionDenied, 403),
    (NotFound, 404),
    (ConcurrencyConflict, 409),
    (AlreadyClaimed, 409),
    (InvalidTransition, 409),
    (StorageError, 503),
)
"""First match wins; any other library error is a 400."""

ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": ErrorBody, "description": "no token, or an unknown one"},
    403: {"model": ErrorBody, "description": "PermissionDenied"},
    404: {"model": ErrorBody, "description": "NotFound (missing or hidden, alike)"},
    409: {
        "model": ErrorBody,
        "description": "ConcurrencyConflict, AlreadyClaimed, InvalidTransition",
    },
    422: {"model": ErrorBody, "description": "ValidationError (the field is named)"},
}


def status_of(error: HelpdeskError) -> int:
    for kind, status in STATUSES:
        if isinstance(error, kind):
            return status
    return 400


def error_body(error: HelpdeskError) -> ErrorBody:
    field = getattr(error, "field", None) or getattr(error, "path", None)
    return ErrorBody(detail=str(error), error=type(error).__name__, field=field)


def install(app: FastAPI) -> None:
    """Register the handlers: library errors, unauthenticated calls, malformed requests."""

    async def library_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HelpdeskError)
        return JSONResponse(error_body(exc).model_dump(), status_code=status_of(exc))

    async def unauthenticated(request: Request, exc: Exception) -> JSONResponse:
        body = ErrorBody(detail=str(exc), error="Unauthenticated")
        return JSONResponse(
            body.model_dump(), status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )

    async def malformed(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
        body = ErrorBody(
            detail=f"{where or 'request'}: {first.get('msg', 'invalid request')}",
            error="ValidationError",
            field=where or None,
        )
        return JSONResponse(body.model_dump(), status_code=422)

    app.add_exception_handler(HelpdeskError, library_error)
    app.add_exception_handler(Unauthenticated, unauthenticated)
    app.add_exception_handler(RequestValidationError, malformed)
