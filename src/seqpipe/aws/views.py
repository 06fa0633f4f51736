"""The read model's shapes: what `seqpipe.aws.read_model` returns, the dashboard's API serves and
its pages render, and the CLI prints (`seqpipe status`, `seqpipe qc`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Job(BaseModel):
    job_id: str
    kind: str
    status: str
    run_id: str | None = None
    sample: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = Field(None, description="finished − started; null while running")
    error: str | None = None


class RunSummary(BaseModel):
    run_id: str
    project: str | None = None
    status: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = None
    samples: int = 0
    error: str | None = None


class RunDetail(BaseModel):
    run: RunSummary
    jobs: list[Job] = Field(description="the run's own job and its per-sample jobs, oldest first")


class QCCheck(BaseModel):
    metric: str
    value: float | None = None
    threshold: str | None = None
    verdict: str
    reason: str | None = None


class SampleQC(BaseModel):
    sample: str
    run_id: str
    project: str | None = None
    verdict: str
    metrics: dict[str, float | None] = Field(default_factory=dict)
    checks: list[QCCheck] = Field(default_factory=list)
    created_at: datetime | None = None


class FileRecord(BaseModel):
    uri: str
    format: str | None = None
    size: int | None = None
    checksum: str | None = Field(
        None, description="sha256:<hex>, or etag:<S3 ETag> when no SHA-256 was recorded"
    )
    status: str


class SampleDetail(BaseModel):
    sample: str
    project: str | None = None
    status: str | None = None
    runs: list[str] = Field(default_factory=list)
    files: list[FileRecord] = Field(default_factory=list)


class DeliveredFile(BaseModel):
    sample: str | None = None
    key: str = Field(description="s3:// URI of the delivered copy")
    size: int | None = None
    sha256: str | None = None


class Delivery(BaseModel):
    run_id: str
    status: str = Field(description="NOT_DELIVERED, DELIVERED or FAILED")
    delivered_at: datetime | None = None
    manifest_uri: str | None = None
    files: list[DeliveredFile] = Field(default_factory=list)
