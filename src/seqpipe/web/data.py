"""What the dashboard reads from the data plane: one method per page, one Query per method.

Reads go through the data plane's repositories (seqpipe.aws.repositories); this module shapes their
items into the dashboard's models and adds the read the repositories do not have (runs of one
status). Nothing here Scans.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, Key
from botocore.config import Config
from botocore.exceptions import ClientError

from seqpipe.aws.delivery import MANIFEST_NAME
from seqpipe.aws.repositories import Repositories, from_dynamo
from seqpipe.aws.settings import Settings
from seqpipe.aws.transitions import JobStatus
from seqpipe.web.models import (
    DeliveredFile,
    Delivery,
    FileRecord,
    Job,
    QCCheck,
    RunDetail,
    RunSummary,
    SampleDetail,
    SampleQC,
)

PRESIGN_SECONDS = 3600
RUN_KIND = "run"
SETTLED = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.ABORTED}


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
    )


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
        uri=item.get("uri") or item["sk"].removeprefix("FILE#"),
        format=item.get("format") or (item.get("validation") or {}).get("format"),
        size=item.get("size"),
        checksum=checksum,
        status=str(item.get("status") or "RECORDED"),
    )


class DashboardData:
    def __init__(self, settings: Settings, repositories: Repositories | None = None, s3: Any = None) -> None:
        self.settings = settings
        self.repos = repositories or Repositories.from_settings(settings)
        self._s3 = s3

    @classmethod
    def from_env(cls) -> DashboardData:
        return cls(Settings.from_env())

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            # SigV4 explicitly: with a custom endpoint botocore would otherwise presign with SigV2.
            self._s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
        return self._s3

    # ---- runs and jobs (processing-jobs) ----------------------------------------------------
    def runs(self, status: str | None, limit: int) -> list[RunSummary]:
        """Newest runs first. With a status: the by-kind index filtered on status, because by-status
        mixes runs with the (hundred times more numerous) per-sample tasks."""
        if not status:
            return [run_from_item(i) for i in self.repos.jobs.runs(limit=limit)]
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "IndexName": "by-kind",
            "KeyConditionExpression": Key("kind").eq(RUN_KIND),
            "FilterExpression": Attr("status").eq(status),
            "ScanIndexForward": False,
        }
        while len(items) < limit:
            page = self.repos.jobs.table.query(**kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [run_from_item(from_dynamo(i)) for i in items[:limit]]

    def run(self, run_id: str) -> RunDetail:
        items = self.repos.jobs.of_run(run_id)
        run = next((i for i in items if i.get("kind") == RUN_KIND and i["job_id"] == run_id), None)
        if run is None:
            raise NotFound(f"unknown run {run_id!r}: no such run in the jobs table")
        jobs = sorted(
            (job_from_item(i) for i in items), key=lambda j: (j.started_at or j.created_at, j.job_id)
        )
        return RunDetail(run=run_from_item(run), jobs=jobs)

    def _run_item(self, run_id: str) -> dict[str, Any]:
        item = self.repos.jobs.get(run_id)
        if not item or item.get("kind", RUN_KIND) != RUN_KIND:
            raise NotFound(f"unknown run {run_id!r}: no such run in the jobs table")
        return item

    def report_location(self, run_id: str) -> str:
        """The run's MultiQC report: under its output_uri (local runs record a path), else the
        state machine's s3://<processed>/runs/<run_id>."""
        item = self._run_item(run_id)
        output = item.get("output_uri") or f"s3://{self.settings.processed_bucket}/runs/{run_id}"
        return f"{str(output).rstrip('/')}/qc/multiqc_report.html"

    def presign(self, uri: str) -> tuple[str, datetime]:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        url = self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=PRESIGN_SECONDS
        )
        return url, datetime.now(UTC) + timedelta(seconds=PRESIGN_SECONDS)

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
        items = self.repos.metadata.sample_history(sample_id)
        if not items:
            raise NotFound(f"unknown sample {sample_id!r}: no such sample in the metadata table")
        head = next((i for i in items if i["sk"] == "#META"), {})
        return SampleDetail(
            sample=sample_id,
            project=head.get("project"),
            status=head.get("status"),
            runs=[i["sk"].removeprefix("RUN#") for i in items if i["sk"].startswith("RUN#")],
            files=[file_from_item(i) for i in items if i["sk"].startswith("FILE#")],
        )

    # ---- delivery ----------------------------------------------------------------------------
    def delivery(self, run_id: str) -> Delivery:
        """The run's delivery manifest (s3://<delivery>/<run_id>/manifest.json), whoever wrote it:
        the state machine's finalize step or `seqpipe deliver`."""
        self._run_item(run_id)
        try:
            body = self.s3.get_object(Bucket=self.settings.delivery_bucket, Key=f"{run_id}/{MANIFEST_NAME}")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NoSuchBucket"}:
                return Delivery(run_id=run_id, status="NOT_DELIVERED")
            raise
        manifest = json.loads(body["Body"].read())
        return Delivery(
            run_id=run_id,
            status="DELIVERED",
            delivered_at=_time(manifest.get("created_at")),
            manifest_uri=f"s3://{self.settings.delivery_bucket}/{run_id}/{MANIFEST_NAME}",
            files=[
                DeliveredFile(
                    sample=f.get("sample"), key=f["uri"], size=f.get("size"), sha256=f.get("sha256")
                )
                for f in manifest.get("files") or []
            ],
        )
