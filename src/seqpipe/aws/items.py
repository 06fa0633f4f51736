"""The items of the data plane's tables, laid out once: key prefixes, overloaded index keys, the run
kind, the verdict sort key. The repositories (seqpipe.aws.repositories) write what these functions
build and query by the same prefixes; bulk content (seqpipe.aws.demo) is built here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from seqpipe.aws.transitions import SAMPLE_LIFECYCLE, JobStatus, StepStatus

Item = dict[str, Any]
Metrics = dict[str, float | None]  # metric name → value (None: not measured)
Checks = Iterable[dict[str, Any]]  # one per threshold: metric, value, threshold, verdict, reason

# genomics-metadata: a sample's partition holds the sample (sk #META), the runs it is in (sk RUN#<run>)
# and its files (sk FILE#<uri>); gsi1 is overloaded with RUN#<run> and PROJECT#<project>.
SAMPLE, RUN, FILE, PROJECT, META = "SAMPLE#", "RUN#", "FILE#", "PROJECT#", "#META"
# processing-jobs: a run's own item has this kind (and job_id = run id); a workflow step (one attempt of one
# Snakemake job) has STEP_KIND; the Lambdas' per-sample tasks have their own kind (validation, …).
RUN_KIND = "run"
STEP_KIND = "step"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sample_partition(sample: str) -> str:
    """The sample's partition key in genomics-metadata (also its gsi1 sort key)."""
    return f"{SAMPLE}{sample}"


def sample_key(sample: str) -> dict[str, str]:
    return {"pk": sample_partition(sample), "sk": META}


def _of_sample(sample: str, sk: str, listed_under: str | None, fields: Item, attributes: Item) -> Item:
    """An item of the sample's partition. `listed_under`: its gsi1 partition, for the items the
    overloaded index lists (the sample under its project, the sample under a run it is in)."""
    listing = {"gsi1pk": listed_under, "gsi1sk": sample_partition(sample)} if listed_under else {}
    return {"pk": sample_partition(sample), "sk": sk, "sample": sample, **fields, **listing, **attributes}


def sample_item(sample: str, project: str, status: str = SAMPLE_LIFECYCLE.initial, **attributes: Any) -> Item:
    fields = {"project": project, "status": status, "version": 1, "created_at": now_iso()}
    return _of_sample(sample, META, f"{PROJECT}{project}", fields, attributes)


def membership_item(sample: str, run_id: str, project: str, **attributes: Any) -> Item:
    """The sample is in the run."""
    fields = {"run_id": run_id, "project": project, "created_at": now_iso()}
    return _of_sample(sample, f"{RUN}{run_id}", f"{RUN}{run_id}", fields, attributes)


def file_key(sample: str, uri: str) -> dict[str, str]:
    return {"pk": sample_partition(sample), "sk": f"{FILE}{uri}"}


def file_item(sample: str, uri: str, etag: str, **attributes: Any) -> Item:
    fields = {"uri": uri, "etag": etag, "recorded_at": now_iso()}
    return _of_sample(sample, f"{FILE}{uri}", None, fields, attributes)


def _job(job_id: str, kind: str, run_id: str | None, status: str, fields: Item, attributes: Item) -> Item:
    now = now_iso()
    common = {"job_id": job_id, "kind": kind, "run_id": run_id, "status": status}
    return {**common, "created_at": now, "updated_at": now, **fields, **attributes}


def run_item(
    run_id: str, project: str, samples: list[str], status: str = JobStatus.SUBMITTED, **attributes: Any
) -> Item:
    """A run's own job: its job_id is the run id."""
    return _job(run_id, RUN_KIND, run_id, status, {"project": project, "samples": samples}, attributes)


def task_item(
    job_id: str, kind: str, run_id: str | None, sample: str | None, status: str, **attributes: Any
) -> Item:
    """A per-sample task of a run (validation, VCF processing, a workflow step)."""
    return _job(job_id, kind, run_id, status, {"sample": sample, "version": 1}, attributes)


def step_id(run_id: str, session: str, jobid: int | str, attempt: int) -> str:
    """A step's job_id: unique across runs (the run id), Snakemake invocations of one run (the session:
    a failed run may be started again) and attempts. Dots, because run ids never hold one and step ids
    go into URLs."""
    return f"{run_id}.{session}.{jobid}.{attempt}"


def step_item(
    run_id: str,
    job_id: str,
    rule: str,
    attempt: int,
    at: str,
    status: str = StepStatus.QUEUED,
    **attributes: Any,
) -> Item:
    """One attempt of one Snakemake job of a run (job_id from `step_id`), as the workflow's logger
    plugin (seqpipe.steps) writes it; `history` lists every status with the moment it was reached."""
    fields = {
        "rule": rule,
        "attempt": attempt,
        "version": 1,
        "created_at": at,
        "history": [{"status": status, "at": at}],
    }
    return _job(job_id, STEP_KIND, run_id, status, fields, attributes)


def quality_item(
    sample: str, run_id: str, project: str, metrics: Metrics, checks: Checks, verdict: str, **attributes: Any
) -> Item:
    return {
        "sample": sample,
        "run_id": run_id,
        "project": project,
        "metrics": metrics,
        "checks": list(checks),
        "verdict": verdict,
        # by-project's sort key: "failing in a project" is begins_with(verdict_key, "FAIL#")
        "verdict_key": f"{verdict}#{run_id}#{sample}",
        "recorded_at": now_iso(),
        **attributes,
    }


@dataclass(frozen=True)
class SampleHistory:
    """A sample's partition of genomics-metadata, sorted out."""

    sample: Item | None  # None: the partition has runs or files but the sample was never registered
    runs: list[Item] = field(default_factory=list)  # the runs it is in (each has run_id, project)
    files: list[Item] = field(default_factory=list)  # its file records (each has uri)
    items: list[Item] = field(default_factory=list)  # all of the above

    @classmethod
    def of(cls, items: list[Item]) -> SampleHistory:
        return cls(
            sample=next((i for i in items if i["sk"] == META), None),
            runs=[i for i in items if i["sk"].startswith(RUN)],
            files=[i for i in items if i["sk"].startswith(FILE)],
            items=items,
        )
