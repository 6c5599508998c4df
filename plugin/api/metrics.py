from fastapi import APIRouter

from plugin.api.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["metrics"], responses=ERROR_RESPONSES)
