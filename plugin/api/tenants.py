from fastapi import APIRouter
from pydantic import BaseModel

from plugin.api.schemas import ERROR_RESPONSES
from plugin.deps import AnyPrincipal

router = APIRouter(prefix="/api/v1", tags=["tenant"], responses=ERROR_RESPONSES)


class WhoAmI(BaseModel):
    tenant: str
    scopes: list[str]


@router.get("/me", response_model=WhoAmI, summary="The tenant and scopes of the calling token")
def me(principal: AnyPrincipal) -> WhoAmI:
    return WhoAmI(tenant=principal.tenant_slug, scopes=sorted(scope.value for scope in principal.scopes))
