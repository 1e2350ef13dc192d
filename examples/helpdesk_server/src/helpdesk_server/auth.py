"""Who is calling: ``Authorization: Bearer <token>`` (or the UI's cookie) -> the
:class:`~helpdesk_core.Actor` of a ``[server.users]`` entry. This only says *who*; what the actor
may do is decided by the facade's permission checks, never here."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from helpdesk_core import Actor, Helpdesk
from helpdesk_server.settings import DemoUser, ServerSettings

TOKEN_COOKIE = "helpdesk_token"

bearer = HTTPBearer(auto_error=False, description="a token from the [server.users] table")


class Unauthenticated(Exception):
    """No token, or one no user has: 401."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def desk_of(request: Request) -> Helpdesk:
    desk: Helpdesk = request.app.state.desk
    return desk


def settings_of(request: Request) -> ServerSettings:
    settings: ServerSettings = request.app.state.settings
    return settings


def user_of(request: Request, credentials: HTTPAuthorizationCredentials | None) -> DemoUser:
    token = credentials.credentials if credentials is not None else None
    if token is None:
        token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        raise Unauthenticated("sign in: send Authorization: Bearer <token>")
    user = settings_of(request).user_for_token(token)
    if user is None:
        raise Unauthenticated("unknown token; use one from the [server.users] table")
    return user


def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> DemoUser:
    return user_of(request, credentials)


def current_actor(user: Annotated[DemoUser, Depends(current_user)]) -> Actor:
    return user.actor()


CurrentActor = Annotated[Actor, Depends(current_actor)]
CurrentUser = Annotated[DemoUser, Depends(current_user)]
Desk = Annotated[Helpdesk, Depends(desk_of)]
