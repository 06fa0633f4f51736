"""Deterministic demo content for the data plane's tables: for trying the dashboard against the local
endpoint (`seqpipe dashboard demo-data`), its tests and its benchmark.

Items are built by the data plane's own item functions (seqpipe.aws.items). The workflow steps are
written as the step recorder (seqpipe.steps) writes them, one `record_step` each; the rest with the
repositories' batch `load` (25 items per request, because the benchmark needs ten thousand of them);
manifests by delivery's `write_manifest`; object keys come from seqpipe.aws.layout.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError

from seqpipe.aws import layout
from seqpipe.aws.delivery import write_manifest
from seqpipe.aws.items import (
    Item,
    file_item,
    membership_item,
    quality_item,
    run_item,
    sample_item,
    step_id,
    step_item,
)
from seqpipe.aws.repositories import Repositories
from seqpipe.aws.settings import Settings
from seqpipe.aws.transitions import JobStatus, SampleStatus, StepStatus
from seqpipe.qc.verdicts import FAIL, PASS, evaluate, sample_passes

# Same limits as config/config.yaml's qc.thresholds, so the demo verdicts look like real ones.
THRESHOLDS = {
    "mapped_pct": {"min": 95},
    "mean_depth": {"min": 15},
    "duplicate_pct": {"max": 10},
    "tstv": {"min": 1.7, "max": 2.4},
}
# per-sample rules of the workflow, in the order a sample goes through them
STEP_RULES = ("map_reads", "mark_duplicates", "convert_to_cram", "call_bcftools", "call_freebayes",
              "gather_calls", "compute_alignment_stats", "compute_coverage", "compute_variant_stats",
              "run_fastqc")  # fmt: skip
DEMO_SESSION = "0d3e0000"  # the steps' Snakemake invocation
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


@dataclass
class DemoRun:
    """One run's items per table, and what was delivered (samples, manifest files) if it succeeded."""

    run: Item
    steps: list[Item] = field(default_factory=list)
    metadata: list[Item] = field(default_factory=list)
    quality: list[Item] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)
    manifest_files: list[dict[str, Any]] = field(default_factory=list)


def demo_runs(size: DemoSize, settings: Settings, seed: int = 7) -> Iterator[DemoRun]:
    rng = random.Random(seed)
    for r in range(size.runs):
        rid = run_id(r)
        created = EPOCH + timedelta(hours=6 * r)
        status = _run_status(r, size.runs)
        samples = [sample_id(r, s, size) for s in range(size.samples_per_run)]
        run_end = created + timedelta(minutes=5 + 10 * size.tasks_per_sample)
        output_uri = layout.run_output_uri(settings.processed_bucket, rid)
        run = run_item(
            rid, size.project, samples, status, created_at=_iso(created),
            started_at=_iso(created + timedelta(minutes=1)), updated_at=_iso(run_end), attempt=1, version=3,
            output_uri=output_uri,
        )  # fmt: skip
        if status != JobStatus.RUNNING:
            run["finished_at"] = _iso(run_end)
        if status == JobStatus.FAILED:
            run |= {
                "error_name": "States.TaskFailed",
                "error_cause": "Snakemake exited with code 1 (rule align)",
            }
        demo = DemoRun(run)
        for s, sample in enumerate(samples):
            t = created + timedelta(minutes=2 + s)
            for k in range(size.tasks_per_sample):
                last = k == size.tasks_per_sample - 1
                # the running run is in its samples' last step; the failed one failed there in its first
                step_status = (
                    StepStatus.RUNNING if status == JobStatus.RUNNING and last
                    else StepStatus.FAILED if status == JobStatus.FAILED and last and s == 0
                    else StepStatus.SUCCEEDED
                )  # fmt: skip
                demo.steps.append(_step(rid, sample, s * size.tasks_per_sample + k, k, step_status, t, rng))
                t += timedelta(minutes=rng.uniform(3, 9) + 0.5)
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
                demo.delivered.append(sample)
            checks = [
                {"metric": v.metric, "value": v.value, "threshold": v.threshold, "verdict": v.verdict,
                 "reason": v.reason}
                for v in verdicts
            ]  # fmt: skip
            if status != JobStatus.RUNNING:
                demo.quality.append(
                    quality_item(
                        sample, rid, size.project, metrics, checks, verdict, recorded_at=_iso(run_end)
                    )
                )
            sample_status = (
                SampleStatus.PROCESSING if status == JobStatus.RUNNING
                else SampleStatus.FAILED if status == JobStatus.FAILED
                else SampleStatus.DELIVERED if verdict == PASS else SampleStatus.QC_FAILED
            )  # fmt: skip
            demo.metadata += [
                sample_item(sample, size.project, sample_status, version=3, created_at=_iso(created)),
                membership_item(sample, rid, size.project, created_at=_iso(created)),
            ]
            raw = layout.raw_sample_prefix(size.project, rid, sample)
            for read in (1, 2):
                demo.metadata.append(
                    file_item(
                        sample, f"s3://{settings.raw_bucket}/{raw}{sample}_R{read}.fastq.gz",
                        f"{rng.getrandbits(128):032x}", size=rng.randint(50, 900) * 1024 * 1024,
                        status="VALID", project=size.project, run_id=rid, recorded_at=_iso(created),
                        validation={"format": "FASTQ.gz", "valid": True, "errors": [], "warnings": []},
                    )
                )  # fmt: skip
        if status == JobStatus.SUCCEEDED:
            demo.manifest_files = [
                {
                    "sample": sample,
                    "uri": f"s3://{settings.delivery_bucket}/{layout.delivered_prefix(rid, sample)}{name}",
                    "source": f"{output_uri}/{folder}/{name}",
                    "size": rng.randint(1, 400) * 1024 * 1024,
                    "sha256": f"{rng.getrandbits(256):064x}",
                }
                for sample in demo.delivered
                for folder, name in (("cram", f"{sample}.cram"), ("vcf", f"{sample}.bcftools.vcf.gz"))
            ]
        yield demo


def _step(
    rid: str, sample: str, jobid: int, k: int, status: StepStatus, queued: datetime, rng: random.Random
) -> Item:
    """One step as the recorder leaves it: queued, running 20 s later, settled minutes after that."""
    started = queued + timedelta(seconds=20)
    finished = started + timedelta(minutes=rng.uniform(3, 9))
    item = step_item(
        rid, step_id(rid, DEMO_SESSION, jobid, 1), STEP_RULES[k % len(STEP_RULES)], 1, _iso(queued),
        sample=sample, wildcards={"sample": sample}, snakemake_jobid=jobid, session=DEMO_SESSION,
        threads=4, mem_mb=8192, engine="aws-batch", engine_job_id=f"{rng.getrandbits(128):032x}",
        started_at=_iso(started),
    )  # fmt: skip
    item["history"].append({"status": StepStatus.RUNNING, "at": _iso(started)})
    item |= {"status": status, "updated_at": _iso(started), "version": 2}
    if status != StepStatus.RUNNING:
        item["history"].append({"status": status, "at": _iso(finished)})
        item |= {"finished_at": _iso(finished), "updated_at": _iso(finished), "version": 3}
    if status == StepStatus.FAILED:
        item |= {"engine_state": "FAILED", "engine_exit_status": 1}
    return item


def write_demo(size: DemoSize, settings: Settings | None = None, seed: int = 7) -> dict[str, int]:
    """Write the demo content; returns the number of items per table (and of manifests)."""
    settings = settings or Settings.from_env()
    repos = Repositories.from_settings(settings)
    s3 = boto3.client("s3")
    if not _bucket_exists(s3, settings.delivery_bucket):
        s3.create_bucket(Bucket=settings.delivery_bucket)
    runs: list[Item] = []
    steps: list[Item] = []
    metadata: list[Item] = []
    quality: list[Item] = []
    manifests = 0
    for demo in demo_runs(size, settings, seed):
        if demo.manifest_files:
            demo.run["delivery"] = write_manifest(
                demo.run["run_id"], demo.delivered, demo.manifest_files, settings.delivery_bucket,
                created_at=demo.run["finished_at"],
            )  # fmt: skip
            manifests += 1
        steps += demo.steps
        runs.append(demo.run)
        metadata += demo.metadata
        quality += demo.quality
    for step in steps:
        repos.jobs.record_step(step)
    return {
        "jobs": repos.jobs.load(runs) + len(steps),
        "metadata": repos.metadata.load(metadata),
        "quality": repos.quality.load(quality),
        "manifest": manifests,
    }


def _bucket_exists(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        return False
    return True
