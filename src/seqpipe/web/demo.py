"""Deterministic demo content for the data plane's tables: for trying the dashboard against the local
endpoint (`seqpipe dashboard demo-data`), its tests and its benchmark.

Items have the shapes the data plane's repositories write (seqpipe.aws.repositories); they are written
with batch writes (25 items per request) because the benchmark needs ten thousand of them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError

from seqpipe.aws.delivery import MANIFEST_NAME
from seqpipe.aws.repositories import to_dynamo
from seqpipe.aws.settings import Settings
from seqpipe.aws.transitions import JobStatus, SampleStatus
from seqpipe.qc_thresholds import FAIL, PASS, evaluate, sample_passes

# Same limits as config/config.yaml's qc.thresholds, so the demo verdicts look like real ones.
THRESHOLDS = {
    "mapped_pct": {"min": 95},
    "mean_depth": {"min": 15},
    "duplicate_pct": {"max": 10},
    "tstv": {"min": 1.7, "max": 2.4},
}
TASK_KINDS = ("validation", "fastp", "align", "markdup", "call-bcftools", "call-freebayes", "vcf-processing",
              "mosdepth", "bcftools-stats", "quality-metrics")  # fmt: skip
EPOCH = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class DemoSize:
    runs: int = 3
    samples_per_run: int = 4
    tasks_per_sample: int = 4
    # Fewer distinct samples than runs × samples_per_run: samples are re-sequenced in later runs,
    # which gives the "QC across runs" pages something to show. None: every sample in one run.
    distinct_samples: int | None = None
    project: str = "DEMO"

    @property
    def jobs(self) -> int:
        return self.runs * (1 + self.samples_per_run * self.tasks_per_sample)

    @property
    def samples(self) -> int:
        return min(
            self.distinct_samples or self.runs * self.samples_per_run, self.runs * self.samples_per_run
        )


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_id(index: int) -> str:
    return f"RUN_{index + 1:04d}"


def sample_id(run_index: int, index: int, size: DemoSize) -> str:
    return f"S{(run_index * size.samples_per_run + index) % size.samples + 1:05d}"


def _run_status(index: int, runs: int) -> str:
    """Older runs settled (every fifth failed); the newest is still running."""
    if index == runs - 1:
        return JobStatus.RUNNING
    return JobStatus.FAILED if index % 5 == 3 else JobStatus.SUCCEEDED


def demo_items(size: DemoSize, settings: Settings, seed: int = 7) -> Iterator[tuple[str, dict[str, Any]]]:
    """(role, item) pairs: role is a table ('jobs', 'metadata', 'quality') or 'manifest' (a delivery
    manifest, as seqpipe.aws.delivery writes it)."""
    rng = random.Random(seed)
    for r in range(size.runs):
        rid = run_id(r)
        created = EPOCH + timedelta(hours=6 * r)
        status = _run_status(r, size.runs)
        samples = [sample_id(r, s, size) for s in range(size.samples_per_run)]
        run_end = created + timedelta(minutes=5 + 10 * size.tasks_per_sample)
        run_item: dict[str, Any] = {
            "job_id": rid, "kind": "run", "run_id": rid, "project": size.project, "samples": samples,
            "status": status, "created_at": _iso(created), "started_at": _iso(created + timedelta(minutes=1)),
            "updated_at": _iso(run_end), "attempt": 1, "version": 3,
        }  # fmt: skip
        if status != JobStatus.RUNNING:
            run_item["finished_at"] = _iso(run_end)
        if status == JobStatus.FAILED:
            run_item |= {
                "error_name": "States.TaskFailed",
                "error_cause": "Snakemake exited with code 1 (rule align)",
            }
        passed: list[str] = []
        for s, sample in enumerate(samples):
            t = created + timedelta(minutes=2 + s)
            for k in range(size.tasks_per_sample):
                kind = TASK_KINDS[k % len(TASK_KINDS)]
                minutes = rng.uniform(3, 9)
                task_status = (
                    status
                    if (status == JobStatus.RUNNING and k == size.tasks_per_sample - 1)
                    else (JobStatus.SUCCEEDED)
                )
                task = {
                    "job_id": f"{rid}#{sample}#{k:02d}-{kind}", "kind": kind, "run_id": rid, "sample": sample,
                    "status": task_status, "created_at": _iso(t), "started_at": _iso(t),
                    "updated_at": _iso(t + timedelta(minutes=minutes)), "version": 2,
                }  # fmt: skip
                if task_status != JobStatus.RUNNING:
                    task["finished_at"] = _iso(t + timedelta(minutes=minutes))
                yield "jobs", task
                t += timedelta(minutes=minutes + 0.5)
            # Deterministic failures: every fifth sample slot has too many duplicates, every seventh
            # too little depth; the first run passes entirely.
            slot = r * size.samples_per_run + s
            metrics = {
                "mapped_pct": round(rng.uniform(96.0, 99.8), 2),
                "mean_depth": round(rng.uniform(*((8, 14) if slot % 7 == 5 else (18, 40))), 1),
                "duplicate_pct": round(rng.uniform(*((10.5, 14) if slot % 5 == 4 else (2, 9))), 2),
                "tstv": round(rng.uniform(1.9, 2.2), 3),
            }
            verdicts = evaluate(sample, metrics, THRESHOLDS)
            verdict = PASS if sample_passes(verdicts) else FAIL
            if verdict == PASS:
                passed.append(sample)
            checks = [
                {"metric": v.metric, "value": v.value, "threshold": v.threshold, "verdict": v.verdict,
                 "reason": v.reason}
                for v in verdicts
            ]  # fmt: skip
            if status != JobStatus.RUNNING:
                yield "quality", {
                    "sample": sample, "run_id": rid, "project": size.project, "metrics": metrics,
                    "checks": checks, "verdict": verdict, "verdict_key": f"{verdict}#{rid}#{sample}",
                    "recorded_at": _iso(run_end),
                }  # fmt: skip
            sample_status = (
                SampleStatus.PROCESSING if status == JobStatus.RUNNING
                else SampleStatus.FAILED if status == JobStatus.FAILED
                else SampleStatus.DELIVERED if verdict == PASS else SampleStatus.QC_FAILED
            )  # fmt: skip
            yield "metadata", {
                "pk": f"SAMPLE#{sample}", "sk": "#META", "sample": sample, "project": size.project,
                "status": sample_status, "version": 3, "created_at": _iso(created),
                "gsi1pk": f"PROJECT#{size.project}", "gsi1sk": f"SAMPLE#{sample}",
            }  # fmt: skip
            yield "metadata", {
                "pk": f"SAMPLE#{sample}", "sk": f"RUN#{rid}", "sample": sample, "run_id": rid,
                "project": size.project, "created_at": _iso(created), "gsi1pk": f"RUN#{rid}",
                "gsi1sk": f"SAMPLE#{sample}",
            }  # fmt: skip
            for read in (1, 2):
                uri = f"s3://{settings.raw_bucket}/{size.project}/{rid}/{sample}/{sample}_R{read}.fastq.gz"
                yield "metadata", {
                    "pk": f"SAMPLE#{sample}", "sk": f"FILE#{uri}", "sample": sample, "uri": uri,
                    "etag": f"{rng.getrandbits(128):032x}", "size": rng.randint(50, 900) * 1024 * 1024,
                    "status": "VALID", "project": size.project, "run_id": rid, "recorded_at": _iso(created),
                    "validation": {"format": "FASTQ.gz", "valid": True, "errors": [], "warnings": []},
                }  # fmt: skip
        output_uri = f"s3://{settings.processed_bucket}/runs/{rid}"
        run_item["output_uri"] = output_uri
        if status == JobStatus.SUCCEEDED:
            manifest = {
                "run_id": rid,
                "created_at": _iso(run_end),
                "samples": passed,
                "files": [
                    {
                        "sample": sample,
                        "uri": f"s3://{settings.delivery_bucket}/{rid}/{sample}/{sample}.{ext}",
                        "source": f"{output_uri}/{folder}/{sample}.{ext}",
                        "size": rng.randint(1, 400) * 1024 * 1024,
                        "sha256": f"{rng.getrandbits(256):064x}",
                    }
                    for sample in passed
                    for folder, ext in (("cram", "cram"), ("vcf", "bcftools.vcf.gz"))
                ],
            }
            run_item["delivery"] = {
                "manifest": f"s3://{settings.delivery_bucket}/{rid}/{MANIFEST_NAME}",
                "files": len(manifest["files"]),
                "samples": passed,
            }
            yield "manifest", manifest
        yield "jobs", run_item


def write_demo(size: DemoSize, settings: Settings | None = None, seed: int = 7) -> dict[str, int]:
    """Write the demo items with batch writes; returns the number of items per table."""
    settings = settings or Settings.from_env()
    resource = boto3.resource("dynamodb")
    names = {"jobs": settings.jobs_table, "metadata": settings.metadata_table, "quality": settings.qc_table}
    tables = {role: resource.Table(name) for role, name in names.items()}
    counts = dict.fromkeys([*names, "manifest"], 0)
    s3 = boto3.client("s3")
    if not _bucket_exists(s3, settings.delivery_bucket):
        s3.create_bucket(Bucket=settings.delivery_bucket)
    with ExitStack() as stack:
        writers = {role: stack.enter_context(table.batch_writer()) for role, table in tables.items()}
        for role, item in demo_items(size, settings, seed):
            counts[role] += 1
            if role == "manifest":
                s3.put_object(
                    Bucket=settings.delivery_bucket,
                    Key=f"{item['run_id']}/{MANIFEST_NAME}",
                    Body=json.dumps(item, indent=2).encode(),
                    ContentType="application/json",
                )
            else:
                writers[role].put_item(Item=to_dynamo(item))
    return counts


def _bucket_exists(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        return False
    return True
