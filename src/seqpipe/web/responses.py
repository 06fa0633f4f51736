"""The API's own response shapes (beyond the read model's views): the report link and errors."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ReportLink(BaseModel):
    run_id: str
    url: str
    expires_at: datetime | None = Field(None, description="presigned URLs only")


class Problem(BaseModel):
    """Every error response: 401 (token), 404 (unknown run or sample), 422 (bad parameter)."""

    detail: str
