from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.accounts.models import ApiToken, Tenant, User


def add(session: Session, row: Tenant | User | ApiToken) -> None:
    session.add(row)
    session.flush()


def tenant_by_slug(session: Session, slug: str) -> Tenant | None:
    return session.scalar(select(Tenant).where(Tenant.slug == slug))


def tenant_by_id(session: Session, tenant_id: int) -> Tenant | None:
    return session.get(Tenant, tenant_id)


def list_tenants(session: Session) -> list[Tenant]:
    return list(session.scalars(select(Tenant).order_by(Tenant.id)))


def user_by_email(session: Session, tenant_id: int, email: str) -> User | None:
    return session.scalar(select(User).where(User.tenant_id == tenant_id, User.email == email))


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def active_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    )
