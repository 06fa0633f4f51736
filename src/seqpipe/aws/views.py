"""The read model's shapes: what `seqpipe.aws.read_model` returns, the dashboard's API serves and
its pages render, and the CLI prints (`seqpipe status`, `seqpipe qc`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from seqpipe.aws.items import STEP_KIND


class StatusChange(BaseModel):
    status: str
    at: datetime


class Job(BaseModel):
    """A job of the jobs table: a run's own, a Lambda's per-sample task, or a workflow step (kind
    `step`: one attempt of one Snakemake job, with the fields below the line)."""

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
    rule: str | None = None
    wildcards: dict[str, str] = Field(default_factory=dict)
    attempt: int | None = Field(None, description="1 for a job's first try, n for its (n−1)th retry")
    threads: int | None = None
    mem_mb: int | None = None
    engine: str | None = Field(None, description="local, slurm or aws-batch")
    engine_job_id: str | None = Field(None, description="the SLURM job id or the AWS Batch job id")
    engine_state: str | None = Field(None, description="the engine's last word on the job (sacct, Batch)")
    exit_status: int | None = Field(None, description="the command's exit status (local); <0: its signal")
    engine_exit_status: int | None = Field(None, description="the engine job's (on it, Snakemake's)")
    logs: list[str] = Field(default_factory=list, description="the rule's log files: paths or s3:// URIs")
    engine_log: str | None = Field(None, description="the engine's log of the job (SLURM's file)")
    history: list[StatusChange] = Field(default_factory=list)

    @property
    def label(self) -> str:
        """How pages and the CLI name it: a step by rule, wildcards (and retry), else by sample and kind."""
        if self.kind != STEP_KIND:
            return f"{self.sample} {self.kind}" if self.sample else self.kind
        wildcards = ",".join(f"{k}={v}" for k, v in self.wildcards.items())
        retry = f" #{self.attempt}" if self.attempt and self.attempt > 1 else ""
        return f"{self.rule}{f' {wildcards}' if wildcards else ''}{retry}"


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
    jobs: list[Job] = Field(description="the run's own job, its steps and per-sample tasks, oldest first")


class LogTail(BaseModel):
    location: str = Field(description="a local path or an s3:// URI")
    size: int | None = Field(None, description="bytes; null when it could not be read")
    text: str = Field("", description="its last lines (at most the bound the reader was given)")
    truncated: bool = Field(False, description="the file is longer than the tail shown")
    error: str | None = Field(None, description="why it could not be read")


class StepLog(BaseModel):
    step: Job
    logs: list[LogTail] = Field(default_factory=list, description="the rule's logs, then the engine's")


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
