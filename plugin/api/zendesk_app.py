"""Entry points of the Zendesk app: Zendesk POSTs a signed-URL JWT; we answer with the page and a
short-lived token for the API calls the page makes."""

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from plugin.accounts import repository as accounts_repository
from plugin.accounts import service as accounts_service
from plugin.accounts.scopes import Scope, grants
from plugin.core.errors import Forbidden, Unauthorized
from plugin.deps import ClockDep, SessionDep
from plugin.web.routes import render_dashboard, render_sidebar
from plugin.zaf.signed_urls import (
    SignedUrlClaims,
    token_from_form,
    unverified_subdomain,
    verify_signed_url_token,
)

router = APIRouter(prefix="/zendesk", include_in_schema=False)

SESSION_LIFETIME = timedelta(hours=8)
MAX_FORM_BYTES = 16_384


def zendesk_user_email(subdomain: str, user_id: int) -> str:
    """How a Zendesk user is named among our users (grant roles with `outcomedesk tenant grant`)."""
    return f"zendesk-user-{user_id}@{subdomain}.zendesk.com"


async def _verified(request: Request, session: SessionDep, clock: ClockDep) -> tuple[int, SignedUrlClaims]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Unauthorized("signed-url form is too large")
    # On a worker thread: a SQLite transaction may wait for the write lock, and must not stall the loop.
    return await run_in_threadpool(_verify_form, body, session, clock)


def _verify_form(body: bytes, session: SessionDep, clock: ClockDep) -> tuple[int, SignedUrlClaims]:
    token = token_from_form(body)
    subdomain = unverified_subdomain(token)
    tenant = accounts_repository.tenant_by_slug(session, subdomain)
    # Unknown tenants and unconfigured keys answer like a bad signature, so tenant names do not leak.
    if tenant is None or not tenant.zendesk_app_public_key:
        raise Unauthorized("this Zendesk account is not connected to outcomedesk")
    claims = verify_signed_url_token(
        token,
        public_key_pem=tenant.zendesk_app_public_key,
        subdomain=subdomain,
        now=clock.now(),
        installation_id=tenant.zendesk_installation_id,
    )
    return tenant.id, claims


def _session_token(
    session: SessionDep, clock: ClockDep, tenant_id: int, claims: SignedUrlClaims, scope: Scope
) -> str:
    tenant = accounts_repository.tenant_by_id(session, tenant_id)
    assert tenant is not None
    return accounts_service.issue_token(
        session,
        tenant=tenant,
        scopes=(scope,),
        name=f"zendesk {claims.location} user {claims.user_id}",
        clock=clock,
        user_email=zendesk_user_email(claims.subdomain, claims.user_id),
        lifetime=SESSION_LIFETIME,
    ).token


@router.post("/sidebar", response_class=HTMLResponse)
async def sidebar(request: Request, session: SessionDep, clock: ClockDep) -> HTMLResponse:
    tenant_id, claims = await _verified(request, session, clock)
    token = await run_in_threadpool(_session_token, session, clock, tenant_id, claims, Scope.AGENT)
    return render_sidebar(request, api_token=token, host="zendesk")


@router.post("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, session: SessionDep, clock: ClockDep) -> HTMLResponse:
    tenant_id, claims = await _verified(request, session, clock)
    token = await run_in_threadpool(_manager_token, session, clock, tenant_id, claims)
    return render_dashboard(request, api_token=token, zendesk=True)


def _manager_token(session: SessionDep, clock: ClockDep, tenant_id: int, claims: SignedUrlClaims) -> str:
    role = accounts_service.user_role(
        session, tenant_id=tenant_id, email=zendesk_user_email(claims.subdomain, claims.user_id)
    )
    if role is None or not grants(frozenset({role}), Scope.MANAGER):
        raise Forbidden(
            f"Zendesk user {claims.user_id} may not open the manager dashboard; an admin can grant it with "
            f"`outcomedesk tenant grant {claims.subdomain} --zendesk-user {claims.user_id} --role manager`"
        )
    return _session_token(session, clock, tenant_id, claims, Scope.MANAGER)
