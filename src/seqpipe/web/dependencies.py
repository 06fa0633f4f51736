"""What the routes depend on (FastAPI `Depends`): the signed-in caller, the read model, parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from seqpipe.aws.read_model import ReadModel
from seqpipe.aws.transitions import JobStatus
from seqpipe.web.auth import (
    ALB_DATA_HEADER,
    COOKIE_NAME,
    AlbVerifier,
    Identity,
    InvalidToken,
    bearer_token,
    verify_token,
)

RUN_LIMIT_DEFAULT = 50


class Unauthorized(Exception):
    pass


def identity(request: Request) -> Identity:
    """The caller, from the bearer token or the login cookie; 401 otherwise."""
    alb: AlbVerifier | None = request.app.state.alb
    try:
        if alb is not None:
            claims = request.headers.get(ALB_DATA_HEADER)
            if not claims:
                raise InvalidToken("no sign-in from the load balancer: open the dashboard through its URL")
            return alb.verify(claims)
        token = bearer_token(request.headers.get("authorization"), request.cookies.get(COOKIE_NAME))
        return verify_token(request.app.state.secret, token)
    except InvalidToken as error:
        raise Unauthorized(str(error)) from error


def read_model(request: Request) -> ReadModel:
    """The data plane, connected on first use: building the app (e.g. for its spec) needs no AWS."""
    if request.app.state.data is None:
        request.app.state.data = ReadModel.from_env()
    return request.app.state.data


Auth = Annotated[Identity, Depends(identity)]
Data = Annotated[ReadModel, Depends(read_model)]
StatusFilter = Annotated[JobStatus | None, Query(description="only runs with this status")]
Limit = Annotated[int, Query(ge=1, le=500, description="at most this many runs, newest first")]
