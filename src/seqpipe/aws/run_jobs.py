"""The AWS Batch jobs of a run: found by the run id they carry, terminated when the run is over.

Every job of a run has SEQPIPE_RUN_ID in its container environment. The state machine sets it on the
head job, and the head job hands it to Snakemake as an `--envvars` variable, which the aws-batch
executor copies into the job definition of every task job. The executor names task jobs
`snakejob-<rule>-<uuid>` and cannot tag them from the command line (docs/infrastructure.md), and
Batch lists jobs only by queue, status, name or job definition: so the jobs of a queue that are
still active are described and kept when their environment names the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

RUN_ID_VARIABLE = "SEQPIPE_RUN_ID"
# Batch's statuses before a job ends; TerminateJob stops a job in any of them.
ACTIVE_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")
_DESCRIBE_LIMIT = 100  # job ids per DescribeJobs request


def run_of(job: dict[str, Any]) -> str | None:
    """The run a described job belongs to (None: not a job of any run)."""
    environment = job.get("container", {}).get("environment", [])
    return next((e["value"] for e in environment if e["name"] == RUN_ID_VARIABLE), None)


def _active_ids(batch: Any, queue: str) -> Iterator[str]:
    for status in ACTIVE_STATUSES:
        for page in batch.get_paginator("list_jobs").paginate(jobQueue=queue, jobStatus=status):
            yield from (summary["jobId"] for summary in page["jobSummaryList"])


def active_jobs(batch: Any, queues: Iterable[str], run_id: str) -> list[dict[str, Any]]:
    """The run's jobs in these queues that have not ended yet (DescribeJobs' view of each)."""
    found = []
    for queue in queues:
        ids = list(dict.fromkeys(_active_ids(batch, queue)))
        for start in range(0, len(ids), _DESCRIBE_LIMIT):
            described = batch.describe_jobs(jobs=ids[start : start + _DESCRIBE_LIMIT])["jobs"]
            found += [job for job in described if run_of(job) == run_id]
    return found


def terminate_run_jobs(batch: Any, queues: Iterable[str], run_id: str, reason: str) -> list[str]:
    """Terminate the run's active jobs in these queues; returns their ids. Queues are searched in the
    order given: name the head queue first, so that no head job is left to submit more tasks."""
    terminated = []
    for queue in queues:
        for job in active_jobs(batch, [queue], run_id):
            batch.terminate_job(jobId=job["jobId"], reason=reason)
            terminated.append(job["jobId"])
    return terminated
