import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from plugin.accounts import repository
from plugin.accounts.models import ApiToken, Tenant, User
from plugin.accounts.scopes import Scope, parse_scopes
from plugin.core.clock import Clock
from plugin.core.errors import Conflict, InvalidPayload, NotFound, Unauthorized

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
TOKEN_PREFIX = "od_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a tenant and the scopes their token grants."""

    tenant_id: int
    tenant_slug: str
    scopes: frozenset[Scope]
    token_id: int | None = None
    user_email: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class IssuedToken:
    token: str
    scopes: tuple[Scope, ...]
    tenant_slug: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_tenant(
    session: Session, *, slug: str, name: str, clock: Clock, webhook_secret: str | None = None
) -> Tenant:
    """Create a tenant with a fresh Zendesk webhook signing secret."""
    if not SLUG_PATTERN.match(slug):
        raise InvalidPayload(f"tenant slug {slug!r} must be lowercase letters, digits and dashes")
    if repository.tenant_by_slug(session, slug) is not None:
        raise Conflict(f"tenant {slug!r} already exists")
    tenant = Tenant(
        slug=slug,
        name=name,
        zendesk_webhook_secret=webhook_secret or secrets.token_urlsafe(32),
        created_at=clock.now(),
    )
    repository.add(session, tenant)
    return tenant


def get_tenant(session: Session, slug: str) -> Tenant:
    tenant = repository.tenant_by_slug(session, slug)
    if tenant is None:
        raise NotFound(f"tenant {slug!r} not found")
    return tenant


def issue_token(
    session: Session,
    *,
    tenant: Tenant,
    scopes: tuple[Scope, ...],
    name: str,
    clock: Clock,
    user_email: str | None = None,
    lifetime: timedelta | None = None,
) -> IssuedToken:
    """Issue a bearer token; the plain value is returned once and only its hash is kept."""
    user_id = None
    if user_email is not None:
        user = repository.user_by_email(session, tenant.id, user_email)
        if user is None:
            user = User(tenant_id=tenant.id, email=user_email, role=scopes[0].value, created_at=clock.now())
            repository.add(session, user)
        user_id = user.id
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    repository.add(
        session,
        ApiToken(
            tenant_id=tenant.id,
            user_id=user_id,
            name=name,
            token_hash=hash_token(token),
            scopes=" ".join(sorted(scope.value for scope in scopes)),
            created_at=clock.now(),
            expires_at=clock.now() + lifetime if lifetime is not None else None,
        ),
    )
    return IssuedToken(token=token, scopes=scopes, tenant_slug=tenant.slug)


def authenticate_token(session: Session, token: str, *, now: datetime) -> Principal:
    """Resolve a bearer token to its principal, or refuse it."""
    row = repository.active_token_by_hash(session, hash_token(token))
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        raise Unauthorized("unknown, expired or revoked API token")
    tenant = repository.tenant_by_id(session, row.tenant_id)
    if tenant is None:
        raise Unauthorized("unknown, expired or revoked API token")
    user = repository.user_by_id(session, row.user_id) if row.user_id is not None else None
    return Principal(
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        scopes=parse_scopes(row.scopes),
        token_id=row.id,
        user_email=user.email if user is not None else None,
        expires_at=row.expires_at,
    )


def user_role(session: Session, *, tenant_id: int, email: str) -> Scope | None:
    """The role granted to a user of the tenant, if any."""
    user = repository.user_by_email(session, tenant_id, email)
    return Scope(user.role) if user is not None else None


def grant_role(session: Session, *, tenant: Tenant, email: str, role: Scope, clock: Clock) -> None:
    """Give a helpdesk user a role (e.g. the Zendesk users who may open the manager dashboard)."""
    user = repository.user_by_email(session, tenant.id, email)
    if user is None:
        repository.add(
            session, User(tenant_id=tenant.id, email=email, role=role.value, created_at=clock.now())
        )
    else:
        user.role = role.value
        session.flush()
