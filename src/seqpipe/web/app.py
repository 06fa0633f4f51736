"""The dashboard: server-rendered pages and the JSON API behind them, one FastAPI app.

Every page is backed by one API call and every API call by at most one DynamoDB Query (plus a
GetItem by key), so pages stay fast whatever the size of the tables
(benchmarks/dashboard.py measures it). Nothing Scans.
The routes are in `routes/` (`api`, `pages`); both read the data plane through the read model
(seqpipe.aws.read_model) and share its views (seqpipe.aws.views); /openapi.json documents the API.
"""

from __future__ import annotations

import os

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from seqpipe.aws.read_model import NotFound, ReadModel
from seqpipe.web.auth import AlbVerifier
from seqpipe.web.dependencies import Unauthorized
from seqpipe.web.rendering import HERE, error_page
from seqpipe.web.routes import api, pages

SECRET_VARIABLE = "SEQPIPE_DASHBOARD_SECRET"


def alb_verifier_from_env() -> AlbVerifier | None:
    """SEQPIPE_DASHBOARD_AUTH=alb: users come through a load balancer signing them in with Cognito."""
    if os.environ.get("SEQPIPE_DASHBOARD_AUTH", "token") != "alb":
        return None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    alb_arn = os.environ.get("SEQPIPE_ALB_ARN")
    if not region or not alb_arn:
        raise RuntimeError("SEQPIPE_DASHBOARD_AUTH=alb needs SEQPIPE_ALB_ARN and AWS_REGION")
    return AlbVerifier(region, alb_arn)


async def _unauthorized(request: Request, error: Unauthorized) -> Response:
    return error_page(request, 401, "Sign in", str(error))


async def _not_found(request: Request, error: NotFound) -> Response:
    return error_page(request, 404, "Not found", str(error))


async def _data_plane_down(request: Request, error: Exception) -> Response:
    return error_page(request, 503, "Data unavailable", f"the data plane did not answer: {error}")


async def _bad_parameter(request: Request, error: RequestValidationError) -> Response:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in error.errors()
    )
    return error_page(request, 422, "Bad request", problems or "invalid request")


def create_app(
    data: ReadModel | None = None, secret: str | None = None, alb: AlbVerifier | None = None
) -> FastAPI:
    """The app. Users are checked by `alb` (default: from the environment, see alb_verifier_from_env)
    or else by bearer tokens signed with `secret` (default: $SEQPIPE_DASHBOARD_SECRET). `data`
    defaults to the read model of the environment's data plane, connected on first request."""
    alb = alb or alb_verifier_from_env()
    secret = secret or os.environ.get(SECRET_VARIABLE, "")
    if alb is None and not secret:
        raise RuntimeError(f"{SECRET_VARIABLE} is not set; `seqpipe dashboard serve` creates one for you")
    app = FastAPI(
        title="seqpipe dashboard API",
        version="1",
        description="Runs, jobs, samples, QC and delivery from the seqpipe data plane. "
        "Authenticate with `Authorization: Bearer <token>`.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.secret, app.state.alb, app.state.data = secret, alb, data
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_exception_handler(Unauthorized, _unauthorized)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(BotoCoreError, _data_plane_down)
    app.add_exception_handler(ClientError, _data_plane_down)
    app.add_exception_handler(RequestValidationError, _bad_parameter)
    app.include_router(api.router)
    app.include_router(pages.router)
    return app
