"""The pages' templates and their number filters, and the error page shared by pages and API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from seqpipe.web.auth import Identity

HERE = Path(__file__).parent


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def _number(value: float) -> str:
    return (
        f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}" if value != int(value) else f"{value:.0f}"
    )


def _filesize(size: int | None) -> str:
    if size is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(duration=_duration, number=_number, filesize=_filesize)


def page(request: Request, template: str, who: Identity, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {"identity": who, **context})


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and request.url.path != "/openapi.json"


def error_page(request: Request, status: int, heading: str, message: str) -> Response:
    """An error as a page for browsers, as {"detail": message} for the API."""
    if _wants_html(request):
        response: Response = templates.TemplateResponse(
            request,
            "error.html.j2",
            {
                "status_code": status,
                "heading": heading,
                "message": message,
                "identity": None,
                # behind the load balancer, Cognito signs users in
                "token_login": request.app.state.alb is None,
            },
            status_code=status,
        )
    else:
        response = JSONResponse({"detail": message}, status_code=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response
