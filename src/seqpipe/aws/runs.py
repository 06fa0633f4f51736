"""A run's bookkeeping across its life: record, move through the lifecycle, finalize and deliver, and
end it when its execution fails, times out or is stopped.

record/transition/finalize are the metadata-updater Lambda's actions, which the state machine calls in
order; `end_run` is the run-cleanup Lambda's, on the execution's status change. Each start of a run is
an attempt, and the execution that recorded the current attempt owns the run: only it may move the run
on (a duplicate start, or an attempt that ends after a newer one began, changes nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from seqpipe.aws.delivery import deliver
from seqpipe.aws.repositories import Repositories
from seqpipe.aws.run_jobs import terminate_run_jobs
from seqpipe.aws.transitions import JOB_LIFECYCLE, IllegalTransition, JobStatus, NotOwner, SampleStatus

# Also a valid Batch job name, and with "-<attempt>" a valid Step Functions execution name (80 at most).
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,71}$")
# Step Functions' error for a state (or an execution) that ran past its TimeoutSeconds.
TIMEOUT_ERROR = "States.Timeout"


class RunInputError(ValueError):
    """The execution input is unusable; the message names the field."""


class RunNotRestartable(RuntimeError):
    """The run is submitted, running or done: it is not started again."""


def check_run_id(run_id: str) -> None:
    if not RUN_ID.match(run_id or ""):
        raise RunInputError(f"run_id {run_id!r}: use 1-72 letters, digits, '_' or '-', starting alphanumeric")


def execution_name(run_id: str, attempt: int) -> str:
    """The Step Functions execution of one attempt of a run (names are unique for 90 days, so a failed
    run's next attempt needs a name of its own)."""
    return f"{run_id}-{attempt}"


def next_attempt(repos: Repositories, run_id: str) -> int:
    """The attempt a new start of the run makes: 1 for a new run, the next one for a FAILED or ABORTED
    run. A run that is submitted, running or succeeded raises RunNotRestartable."""
    job = repos.jobs.get(run_id)
    if job is None:
        return 1
    if job["status"] in JOB_LIFECYCLE.sources(JobStatus.SUBMITTED):
        return int(job.get("attempt") or 0) + 1
    raise RunNotRestartable(
        f"run {run_id} is {job['status']} (attempt {job.get('attempt')}, execution "
        f"{job.get('execution_arn') or 'none'}): only a FAILED or ABORTED run starts again"
    )


def record_run(repos: Repositories, run_id: str, project: str, samples: list[str], **attributes: Any) -> dict:
    """Record the run (idempotent: a second start of an active or finished run changes nothing)."""
    check_run_id(run_id)
    if not samples:
        raise RunInputError("samples: a run needs at least one sample")
    created, item = repos.jobs.record_run(run_id, project, samples, **attributes)
    # Still SUBMITTED: the start that recorded it may have stopped before claiming every sample (a
    # killed handler, redelivered); the claims are idempotent, so this start finishes them.
    if created or item.get("status") == JobStatus.SUBMITTED:
        for sample in samples:
            repos.metadata.register_sample(sample, project)
            repos.metadata.add_sample_to_run(sample, run_id, project)
            repos.metadata.set_sample_status(sample, SampleStatus.PROCESSING, run_id)
    return {"created": created, "status": item.get("status"), "attempt": item.get("attempt")}


def transition(
    repos: Repositories,
    run_id: str,
    status: str,
    expected_version: int | None = None,
    *,
    execution_arn: str | None = None,
    **attributes: Any,
) -> dict:
    """`execution_arn`: the change is made only if that execution owns the run (NotOwner otherwise)."""
    item = repos.jobs.transition(run_id, status, expected_version, execution_arn=execution_arn, **attributes)
    return {"run_id": run_id, "status": item["status"], "version": item["version"]}


def finalize(
    repos: Repositories,
    run_id: str,
    output_uri: str,
    approved: list[str],
    delivery_bucket: str,
    execution_arn: str | None = None,
) -> dict:
    """Sample verdicts, delivery of the approved samples, then the run SUCCEEDED (in that order, so a
    failed delivery leaves the run RUNNING for the failure path to mark FAILED); SUCCEEDED only if
    `execution_arn`, when given, owns the run."""
    job = repos.jobs.get(run_id)
    if job is None:
        raise RunInputError(f"run {run_id} has no job record")
    if job["status"] == JobStatus.SUCCEEDED and execution_arn in (None, job.get("execution_arn")):
        # this finalize again (Step Functions retries a task whose answer was lost): what it did stands
        return {"run_id": run_id, "status": job["status"], "delivery": job.get("delivery")}
    for sample in job["samples"]:
        status = SampleStatus.QC_PASSED if sample in approved else SampleStatus.QC_FAILED
        repos.metadata.set_sample_status(sample, status, run_id)
    delivery = deliver(run_id, output_uri, approved, delivery_bucket) if approved else {"files": 0}
    for sample in approved:
        repos.metadata.set_sample_status(sample, SampleStatus.DELIVERED, run_id)
    item = repos.jobs.transition(
        run_id, JobStatus.SUCCEEDED, execution_arn=execution_arn, delivery=delivery, output_uri=output_uri
    )
    return {"run_id": run_id, "status": item["status"], "delivery": delivery}


# How an execution's end is recorded on the run it owns: (status, error name, error cause). A FAILED
# execution was marked by its failure path already (MarkFailed); its own error is the fallback.
_ENDINGS = {
    "ABORTED": (JobStatus.ABORTED, "ExecutionAborted", "the execution was stopped"),
    "TIMED_OUT": (JobStatus.FAILED, TIMEOUT_ERROR, "the execution ran past its time limit (TimeoutSeconds)"),
    "FAILED": (JobStatus.FAILED, "ExecutionFailed", "the execution failed"),
}


@dataclass(frozen=True)
class ExecutionEnd:
    """An execution of a run that ended without success (Step Functions' status change event)."""

    run_id: str
    execution_arn: str
    status: str  # FAILED, TIMED_OUT or ABORTED
    error: str | None = None
    cause: str | None = None


def end_run(repos: Repositories, batch: Any, job_queues: list[str], end: ExecutionEnd) -> dict:
    """If the ended execution owns the run, a run still SUBMITTED or RUNNING gets the ending's status
    and cause, and the run's Batch jobs that are still active in `job_queues` (head queue first) are
    terminated. An execution that does not own the run changes nothing: its jobs, if it ever had any,
    were ended when it lost the run. `timed_out` says whether the attempt ended by running out of time
    (what the run-timeouts alarm counts)."""
    run_id, execution_arn = end.run_id, end.execution_arn
    job = repos.jobs.get(run_id)
    if job is None or job.get("execution_arn") != execution_arn:
        return {"run_id": run_id, "owned": False, "timed_out": False, "terminated": []}
    target, error_name, error_cause = _ENDINGS[end.status]
    if end.status == "FAILED":
        error_name, error_cause = end.error or error_name, end.cause or error_cause
    if job["status"] in JOB_LIFECYCLE.sources(target):
        try:
            job = repos.jobs.transition(
                run_id, target, execution_arn=execution_arn, error_name=error_name, error_cause=error_cause
            )
        except (IllegalTransition, NotOwner):  # moved on meanwhile: what is stored now stands
            job = repos.jobs.get(run_id) or job
    execution = execution_arn.rsplit(":", 1)[-1]
    reason = f"seqpipe run {run_id}: execution {execution} {end.status}"
    terminated = terminate_run_jobs(batch, job_queues, run_id, reason)
    return {
        "run_id": run_id,
        "owned": True,
        "status": job["status"],
        "timed_out": job.get("error_name") == TIMEOUT_ERROR,
        "terminated": terminated,
    }
