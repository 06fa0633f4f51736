"""The data plane's read side: what the dashboard and the CLI show, one method per page, one Query
per method (plus a GetItem by key). Nothing here Scans.

Reads go through the repositories (seqpipe.aws.repositories); this module shapes their items into
the views (seqpipe.aws.views) that the dashboard's API serves and `seqpipe status`/`qc`/`deliver` use.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from seqpipe.aws import layout
from seqpipe.aws.delivery import read_manifest
from seqpipe.aws.items import RUN_KIND, STEP_KIND
from seqpipe.aws.links import Link, presign
from seqpipe.aws.repositories import Repositories
from seqpipe.aws.settings import Settings
from seqpipe.aws.transitions import JobStatus
from seqpipe.aws.views import (
    DeliveredFile,
    Delivery,
    FileRecord,
    Job,
    LogTail,
    QCCheck,
    RunDetail,
    RunSummary,
    SampleDetail,
    SampleQC,
    StatusChange,
    StepLog,
)
from seqpipe.storage.location import locate

PRESIGN_SECONDS = 3600
SETTLED = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.ABORTED}
LOG_TAIL_BYTES = 16 * 1024  # a log tail: one ranged read, whatever the log's size


class NotFound(LookupError):
    """An unknown run or sample; the message is shown to the user as is."""


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _span(item: dict[str, Any]) -> tuple[datetime | None, datetime | None, float | None]:
    """Start, end and duration: explicit started_at/finished_at, else created_at and, once the job
    is settled, its last update (the transition that settled it)."""
    start = _time(item.get("started_at")) or _time(item.get("created_at"))
    end = _time(item.get("finished_at"))
    if end is None and item.get("status") in SETTLED:
        end = _time(item.get("updated_at"))
    return start, end, (end - start).total_seconds() if start and end else None


def _error(item: dict[str, Any]) -> str | None:
    return ": ".join(str(item[k]) for k in ("error_name", "error_cause") if item.get(k)) or None


STEP_FIELDS = ("rule", "wildcards", "attempt", "threads", "mem_mb", "engine", "engine_job_id", "engine_state",
               "exit_status", "engine_exit_status", "logs", "engine_log")  # fmt: skip


def job_from_item(item: dict[str, Any]) -> Job:
    start, end, seconds = _span(item)
    return Job(
        job_id=item["job_id"],
        kind=item.get("kind", RUN_KIND),
        status=item["status"],
        run_id=item.get("run_id"),
        sample=item.get("sample"),
        created_at=_time(item["created_at"]),
        started_at=start,
        finished_at=end,
        duration_seconds=seconds,
        error=_error(item),
        history=[StatusChange(status=h["status"], at=_time(h["at"])) for h in item.get("history") or []],
        **{name: item[name] for name in STEP_FIELDS if item.get(name) is not None},
    )


def log_tail(location: str, max_bytes: int = LOG_TAIL_BYTES) -> LogTail:
    """The end of a log, local or in S3, in one bounded read (a cut first line is dropped)."""
    try:
        log = locate(location)
        size = log.size
        data = log.read(max(size - max_bytes, 0))
    except (OSError, ClientError) as error:
        reason = "no such file" if isinstance(error, FileNotFoundError) else str(error)
        return LogTail(location=location, error=reason)
    text = data.decode("utf-8", errors="replace")
    truncated = size > max_bytes
    if truncated:
        text = text.split("\n", 1)[-1]
    return LogTail(location=location, size=size, text=text, truncated=truncated)


def run_from_item(item: dict[str, Any]) -> RunSummary:
    start, end, seconds = _span(item)
    return RunSummary(
        run_id=item.get("run_id") or item["job_id"],
        project=item.get("project"),
        status=item["status"],
        created_at=_time(item["created_at"]),
        started_at=start,
        finished_at=end,
        duration_seconds=seconds,
        samples=len(item.get("samples") or []),
        error=_error(item),
    )


def qc_from_item(item: dict[str, Any]) -> SampleQC:
    return SampleQC(
        sample=item["sample"],
        run_id=item["run_id"],
        project=item.get("project"),
        verdict=item.get("verdict", "UNKNOWN"),
        metrics=item.get("metrics") or {},
        checks=[
            QCCheck(
                metric=str(c.get("metric", "")),
                value=c.get("value"),
                threshold=None if c.get("threshold") is None else str(c["threshold"]),
                verdict=str(c.get("verdict", "")),
                reason=c.get("reason") or None,
            )
            for c in item.get("checks") or []
        ],
        created_at=_time(item.get("recorded_at") or item.get("created_at")),
    )


def file_from_item(item: dict[str, Any]) -> FileRecord:
    """A file record of the validation handler; its checksum is the sha256 when recorded, else the
    S3 ETag (the MD5 for single-part uploads)."""
    checksum = (
        f"sha256:{item['sha256']}"
        if item.get("sha256")
        else f"etag:{item['etag']}"
        if item.get("etag")
        else None
    )
    return FileRecord(
        uri=item["uri"],
        format=item.get("format") or (item.get("validation") or {}).get("format"),
        size=item.get("size"),
        checksum=checksum,
        status=str(item.get("status") or "RECORDED"),
    )


class ReadModel:
    def __init__(self, settings: Settings, repositories: Repositories | None = None) -> None:
        self.settings = settings
        self.repos = repositories or Repositories.from_settings(settings)

    @classmethod
    def from_env(cls) -> ReadModel:
        return cls(Settings.from_env())

    # ---- runs and jobs (processing-jobs) ----------------------------------------------------
    def runs(self, status: str | None, limit: int) -> list[RunSummary]:
        """Newest runs first, optionally only those with one status."""
        return [run_from_item(i) for i in self.repos.jobs.runs(limit=limit, status=status)]

    def run(self, run_id: str) -> RunDetail:
        items = self.repos.jobs.of_run(run_id)
        run = next((i for i in items if i.get("kind") == RUN_KIND and i["job_id"] == run_id), None)
        if run is None:
            raise NotFound(f"unknown run {run_id!r}: no such run in the jobs table")
        jobs = sorted(
            (job_from_item(i) for i in items), key=lambda j: (j.started_at or j.created_at, j.job_id)
        )
        return RunDetail(run=run_from_item(run), jobs=jobs)

    def step_log(self, run_id: str, job_id: str, max_bytes: int = LOG_TAIL_BYTES) -> StepLog:
        """A step of the run (one GetItem) with the tails of its logs: the rule's, then the engine's."""
        item = self.repos.jobs.get(job_id)
        if not item or item.get("kind") != STEP_KIND or item.get("run_id") != run_id:
            raise NotFound(f"unknown step {job_id!r}: no such step of run {run_id!r} in the jobs table")
        return self.logs_of(job_from_item(item), max_bytes)

    @staticmethod
    def logs_of(step: Job, max_bytes: int = LOG_TAIL_BYTES) -> StepLog:
        """The tails of a step's logs (no table read: the step is at hand)."""
        files = [*step.logs, *([step.engine_log] if step.engine_log else [])]
        return StepLog(step=step, logs=[log_tail(location, max_bytes) for location in files])

    def _run_item(self, run_id: str) -> dict[str, Any]:
        item = self.repos.jobs.get(run_id)
        if not item or item.get("kind", RUN_KIND) != RUN_KIND:
            raise NotFound(f"unknown run {run_id!r}: no such run in the jobs table")
        return item

    def output_location(self, run_id: str) -> str:
        """Where the run's outputs are: its output_uri (local runs record a path), else where the
        state machine puts them (s3://<processed>/runs/<run_id>)."""
        item = self._run_item(run_id)
        return str(item.get("output_uri") or layout.run_output_uri(self.settings.processed_bucket, run_id))

    def report_location(self, run_id: str) -> str:
        """The run's MultiQC report (an s3:// URI or a local path)."""
        return layout.report_under(self.output_location(run_id))

    def report_link(self, location: str) -> Link:
        """A short-lived link to an s3:// report location."""
        return presign(location, PRESIGN_SECONDS)

    # ---- QC (quality-metrics) ------------------------------------------------------------------
    def run_qc(self, run_id: str) -> list[SampleQC]:
        """The run's QC items (one Query on quality-metrics by-run); the run's samples that have none
        yet (from the run's item, a GetItem) are PENDING."""
        found = {item["sample"]: item for item in self.repos.quality.of_run(run_id)}
        run = self.repos.jobs.get(run_id) or {}
        samples = sorted(set(found) | set(run.get("samples") or []))
        if not samples:
            raise NotFound(f"unknown run {run_id!r}: no samples recorded for such a run")
        return [qc_from_item(found[s]) if s in found else self._pending(s, run_id) for s in samples]

    @staticmethod
    def _pending(sample: str, run_id: str) -> SampleQC:
        return SampleQC(sample=sample, run_id=run_id, verdict="PENDING")

    def sample_qc(self, sample_id: str) -> list[SampleQC]:
        items = self.repos.quality.of_sample(sample_id)
        if not items:
            raise NotFound(f"unknown sample {sample_id!r}: no QC recorded for such a sample")
        entries = [qc_from_item(i) for i in items]
        return sorted(entries, key=lambda q: (q.created_at or datetime.min.replace(tzinfo=UTC), q.run_id))

    # ---- samples and files (genomics-metadata) -------------------------------------------------
    def sample(self, sample_id: str) -> SampleDetail:
        history = self.repos.metadata.sample_history(sample_id)
        if not history.items:
            raise NotFound(f"unknown sample {sample_id!r}: no such sample in the metadata table")
        head = history.sample or {}
        return SampleDetail(
            sample=sample_id,
            project=head.get("project"),
            status=head.get("status"),
            runs=[i["run_id"] for i in history.runs],
            files=[file_from_item(i) for i in history.files],
        )

    # ---- delivery ----------------------------------------------------------------------------
    def delivery(self, run_id: str) -> Delivery:
        """The run's delivery manifest, whoever wrote it: the state machine's finalize step or
        `seqpipe deliver`."""
        self._run_item(run_id)
        manifest = read_manifest(self.settings.delivery_bucket, run_id)
        if manifest is None:
            return Delivery(run_id=run_id, status="NOT_DELIVERED")
        return Delivery(
            run_id=run_id,
            status="DELIVERED",
            delivered_at=_time(manifest.get("created_at")),
            manifest_uri=f"s3://{self.settings.delivery_bucket}/{layout.manifest_key(run_id)}",
            files=[
                DeliveredFile(
                    sample=f.get("sample"), key=f["uri"], size=f.get("size"), sha256=f.get("sha256")
                )
                for f in manifest.get("files") or []
            ],
        )
