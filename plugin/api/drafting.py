from fastapi import APIRouter

from plugin.api.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["drafting"], responses=ERROR_RESPONSES)
