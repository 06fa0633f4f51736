"""The API's own response shapes (beyond the read model's views): the report link and errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ReportLink(BaseModel):
    run_id: str
    url: str
    expires_at: datetime | None = Field(None, description="presigned URLs only")


class Problem(BaseModel):
    """Every error response: 401 (token), 404 (unknown run or sample), 422 (bad parameter)."""

    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "missing, wrong or expired token"},
    404: {"model": Problem, "description": "unknown run or sample"},
    422: {"model": Problem, "description": "a parameter is invalid; the message names it"},
    503: {"model": Problem, "description": "the data plane (DynamoDB, S3) is unreachable or misconfigured"},
}
