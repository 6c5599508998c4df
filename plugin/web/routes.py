"""Page routes. Every page is a static shell: no tenant data is rendered on the server, so the pages need no
cookie and can be cached nowhere; the small JS modules beside them fetch the JSON API with the bearer token
the page was opened with (URL fragment `#token=...`, which browsers never send to servers, or injected by a
trusted server-side flow through `render_sidebar(..., api_token=...)`, e.g. after the ZAF signed-URL check).
"""

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from plugin.core.errors import NotFound

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
STATIC_PREFIX = "/app/static"
ZAF_SDK_URL = "https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js"
ZENDESK_FRAME_ANCESTORS = "https://*.zendesk.com"

Host = Literal["auto", "local", "zendesk", "standalone"]

templates = Jinja2Templates(directory=WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)


def _csp(*, zendesk: bool) -> str:
    script = "'self'" + (" https://static.zdassets.com" if zendesk else "")
    ancestors = "'self'" + (f" {ZENDESK_FRAME_ANCESTORS}" if zendesk else "")
    return (
        f"default-src 'self'; script-src {script}; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; frame-src 'self'; frame-ancestors {ancestors}; base-uri 'none'; "
        "form-action 'self'; object-src 'none'"
    )


def _page(request: Request, template: str, *, zendesk: bool = False, **context: object) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, template, {"static": STATIC_PREFIX, "zaf_sdk_url": ZAF_SDK_URL, **context}
    )
    # A page may carry an injected token: never cache it, never leak the URL to other sites.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = _csp(zendesk=zendesk)
    return response


def render_sidebar(
    request: Request, *, api_token: str | None = None, host: Host = "auto", ticket_id: str | None = None
) -> HTMLResponse:
    """The agent sidebar; a trusted caller (the ZAF signed-URL route) passes the API token to hand over."""
    return _page(
        request,
        "sidebar.html",
        zendesk=host == "zendesk",
        title="Reply assistant",
        host=host,
        ticket_id=ticket_id or "",
        api_token=api_token or "",
    )


def render_dashboard(
    request: Request, *, api_token: str | None = None, zendesk: bool = False
) -> HTMLResponse:
    """The manager dashboard; the ZAF nav_bar route may pass the token to hand over."""
    return _page(
        request,
        "dashboard.html",
        zendesk=zendesk,
        title="Assisted vs control",
        api_token=api_token or "",
        active="dashboard",
    )


@router.get("/app/sidebar", response_class=HTMLResponse)
def sidebar_page(
    request: Request,
    ticket: Annotated[str | None, Query(max_length=64)] = None,
    host: Host = "auto",
) -> HTMLResponse:
    return render_sidebar(request, host=host, ticket_id=ticket)


@router.get("/app/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request) -> HTMLResponse:
    return render_dashboard(request)


@router.get("/app/finance", response_class=HTMLResponse)
def finance_page(request: Request) -> HTMLResponse:
    return _page(request, "finance.html", title="Usage and invoices", api_token="", active="finance")


@router.get("/helpdesk", response_class=HTMLResponse)
def helpdesk_list_page(request: Request) -> HTMLResponse:
    return _page(request, "helpdesk_list.html", title="Demo helpdesk", api_token="", active="helpdesk")


@router.get("/helpdesk/tickets/{ticket_id}", response_class=HTMLResponse)
def helpdesk_ticket_page(
    request: Request, ticket_id: Annotated[str, PathParam(pattern=r"^\d{1,18}$")]
) -> HTMLResponse:
    return _page(
        request,
        "helpdesk_ticket.html",
        title=f"Ticket #{ticket_id}",
        api_token="",
        active="helpdesk",
        ticket_id=ticket_id,
    )


@router.get(STATIC_PREFIX + "/{asset:path}")
def static_asset(asset: str) -> FileResponse:
    target = (STATIC_DIR / asset).resolve()
    if not target.is_file() or not target.is_relative_to(STATIC_DIR):
        raise NotFound(f"no asset {asset!r}")
    media_type = "text/javascript" if target.suffix in {".js", ".mjs"} else None
    return FileResponse(
        target,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
