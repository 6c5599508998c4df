from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from drafting import connectors
from plugin.api.schemas import ERROR_RESPONSES
from plugin.deps import AdminPrincipal, ClockDep, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/connectors", tags=["connectors"], responses=ERROR_RESPONSES)

Kind = Annotated[connectors.ConnectorKind, Path(description="hubspot, stripe or usage")]


class ConnectorBody(BaseModel):
    settings: dict[str, str | None] = Field(
        max_length=10,
        description=(
            "hubspot: access_token, base_url?; stripe: api_key (sk_/rk_), base_url?; "
            "usage: base_url, token?, path? (default /usage)"
        ),
    )


class ConnectorResponse(BaseModel):
    kind: str
    settings: dict[str, str] = Field(description="Secrets show only their last four characters")
    updated_at: datetime


def _response(view: connectors.ConnectorView) -> ConnectorResponse:
    return ConnectorResponse(kind=view.kind, settings=view.settings, updated_at=view.updated_at)


@router.get("", response_model=list[ConnectorResponse], summary="The tenant's account-context sources")
def list_connectors(principal: AdminPrincipal, session: SessionDep) -> list[ConnectorResponse]:
    return [_response(v) for v in connectors.list_connectors(session, tenant_id=principal.tenant_id)]


@router.put(
    "/{kind}",
    response_model=ConnectorResponse,
    summary="Connect the tenant's CRM, Stripe account or usage API (replaces the previous settings)",
)
def put_connector(
    kind: Kind,
    body: ConnectorBody,
    principal: AdminPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> ConnectorResponse:
    view = connectors.set_connector(
        session,
        tenant_id=principal.tenant_id,
        kind=kind,
        settings=body.settings,
        clock=clock,
        private_addresses_allowed=settings.connector_private_addresses,
    )
    return _response(view)


@router.delete("/{kind}", status_code=204, summary="Disconnect one of the tenant's sources")
def delete_connector(kind: Kind, principal: AdminPrincipal, session: SessionDep) -> Response:
    connectors.remove_connector(session, tenant_id=principal.tenant_id, kind=kind)
    return Response(status_code=204)
