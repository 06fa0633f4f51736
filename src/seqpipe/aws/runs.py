"""A run's bookkeeping across its life: record, move through the lifecycle, finalize and deliver.

These are the metadata-updater Lambda's actions; the state machine calls them in order.
"""

from __future__ import annotations

import re
from typing import Any

from seqpipe.aws.delivery import deliver
from seqpipe.aws.repositories import Repositories
from seqpipe.aws.transitions import JobStatus, SampleStatus

# Also a valid Batch job name and Step Functions execution name.
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")


class RunInputError(ValueError):
    """The execution input is unusable; the message names the field."""


def check_run_id(run_id: str) -> None:
    if not RUN_ID.match(run_id or ""):
        raise RunInputError(f"run_id {run_id!r}: use 1-80 letters, digits, '_' or '-', starting alphanumeric")


def record_run(repos: Repositories, run_id: str, project: str, samples: list[str], **attributes: Any) -> dict:
    """Record the run (idempotent: a second start of an active or finished run changes nothing)."""
    check_run_id(run_id)
    if not samples:
        raise RunInputError("samples: a run needs at least one sample")
    created, item = repos.jobs.record_run(run_id, project, samples, **attributes)
    if created:
        for sample in samples:
            repos.metadata.register_sample(sample, project)
            repos.metadata.add_sample_to_run(sample, run_id, project)
            repos.metadata.set_sample_status(sample, SampleStatus.PROCESSING, run_id=run_id)
    return {"created": created, "status": item.get("status"), "attempt": item.get("attempt")}


def transition(
    repos: Repositories, run_id: str, status: str, expected_version: int | None = None, **attributes: Any
) -> dict:
    item = repos.jobs.transition(run_id, status, expected_version, **attributes)
    return {"run_id": run_id, "status": item["status"], "version": item["version"]}


def finalize(
    repos: Repositories, run_id: str, output_uri: str, approved: list[str], delivery_bucket: str
) -> dict:
    """Sample verdicts, delivery of the approved samples, then the run SUCCEEDED (in that order, so a
    failed delivery leaves the run RUNNING for the failure path to mark FAILED)."""
    job = repos.jobs.get(run_id)
    if job is None:
        raise RunInputError(f"run {run_id} has no job record")
    for sample in job["samples"]:
        status = SampleStatus.QC_PASSED if sample in approved else SampleStatus.QC_FAILED
        repos.metadata.set_sample_status(sample, status, run_id=run_id)
    delivery = deliver(run_id, output_uri, approved, delivery_bucket) if approved else {"files": 0}
    for sample in approved:
        repos.metadata.set_sample_status(sample, SampleStatus.DELIVERED, run_id=run_id)
    item = repos.jobs.transition(run_id, JobStatus.SUCCEEDED, delivery=delivery, output_uri=output_uri)
    return {"run_id": run_id, "status": item["status"], "delivery": delivery}
