"""Request-scoped wiring: one session (one transaction) per request, the caller, the clock."""

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from plugin.accounts.scopes import Scope, grants
from plugin.accounts.service import Principal
from plugin.auth import authenticate
from plugin.core.clock import Clock
from plugin.core.config import Settings
from plugin.core.errors import Forbidden, Unauthorized


def get_session(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

_bearer = HTTPBearer(auto_error=False, description="API token issued by `outcomedesk tenant token`")


def get_principal(
    request: Request,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("missing bearer token")
    return authenticate(
        credentials.credentials,
        factory=request.app.state.session_factory,
        cache=request.app.state.principal_cache,
        now=clock.now(),
    )


def require(scope: Scope) -> Callable[[Principal], Principal]:
    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not grants(principal.scopes, scope):
            raise Forbidden(f"this token lacks the {scope.value!r} scope")
        return principal

    return check


AnyPrincipal = Annotated[Principal, Depends(get_principal)]
AgentPrincipal = Annotated[Principal, Depends(require(Scope.AGENT))]
ManagerPrincipal = Annotated[Principal, Depends(require(Scope.MANAGER))]
FinancePrincipal = Annotated[Principal, Depends(require(Scope.FINANCE))]
AdminPrincipal = Annotated[Principal, Depends(require(Scope.ADMIN))]
