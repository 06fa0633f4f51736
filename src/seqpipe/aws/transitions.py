"""Legal status changes of jobs and samples, the single source for code and state machine.

The DynamoDB writes guard every change with `#status IN (<allowed sources>)`, so an illegal
transition, or a lost update racing another writer, fails in the database instead of silently
overwriting; the state machine's failure path builds its condition from the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class JobStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"


class StepStatus(StrEnum):
    """A workflow step (one attempt of one Snakemake job): queued at the engine, running, settled."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"


class SampleStatus(StrEnum):
    REGISTERED = "REGISTERED"
    PROCESSING = "PROCESSING"
    QC_PASSED = "QC_PASSED"
    QC_FAILED = "QC_FAILED"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Lifecycle:
    name: str
    initial: str
    allowed: dict[str, frozenset[str]]  # target → statuses it may be reached from

    def sources(self, target: str) -> frozenset[str]:
        if target not in self.allowed:
            raise ValueError(f"{self.name}: unknown status {target!r} (known: {', '.join(self.allowed)})")
        return self.allowed[target]

    def is_legal(self, current: str | None, target: str) -> bool:
        return current in self.sources(target)


# A failed or aborted run may be submitted again (a new attempt); a succeeded one may not.
JOB_LIFECYCLE = Lifecycle(
    name="job",
    initial=JobStatus.SUBMITTED,
    allowed={
        JobStatus.SUBMITTED: frozenset({JobStatus.FAILED, JobStatus.ABORTED}),
        JobStatus.RUNNING: frozenset({JobStatus.SUBMITTED}),
        JobStatus.SUCCEEDED: frozenset({JobStatus.RUNNING}),
        JobStatus.FAILED: frozenset({JobStatus.SUBMITTED, JobStatus.RUNNING}),
        JobStatus.ABORTED: frozenset({JobStatus.SUBMITTED, JobStatus.RUNNING}),
    },
)

# A step is written QUEUED when Snakemake hands it to the engine; a retry is a new step (attempt n+1),
# so nothing leaves a settled state. It may fail before it ran (submission refused, lost on the engine);
# ABORTED: still queued or running when the workflow stopped.
STEP_LIFECYCLE = Lifecycle(
    name="step",
    initial=StepStatus.QUEUED,
    allowed={
        StepStatus.QUEUED: frozenset(),
        StepStatus.RUNNING: frozenset({StepStatus.QUEUED}),
        StepStatus.SUCCEEDED: frozenset({StepStatus.RUNNING}),
        StepStatus.FAILED: frozenset({StepStatus.QUEUED, StepStatus.RUNNING}),
        StepStatus.ABORTED: frozenset({StepStatus.QUEUED, StepStatus.RUNNING}),
    },
)

# Samples are re-processed in later runs, so every settled state may go back to PROCESSING.
SAMPLE_LIFECYCLE = Lifecycle(
    name="sample",
    initial=SampleStatus.REGISTERED,
    allowed={
        SampleStatus.REGISTERED: frozenset(),
        SampleStatus.PROCESSING: frozenset(
            {
                SampleStatus.REGISTERED,
                SampleStatus.QC_PASSED,
                SampleStatus.QC_FAILED,
                SampleStatus.DELIVERED,
                SampleStatus.FAILED,
                SampleStatus.PROCESSING,
            }
        ),
        SampleStatus.QC_PASSED: frozenset({SampleStatus.PROCESSING}),
        SampleStatus.QC_FAILED: frozenset({SampleStatus.PROCESSING}),
        SampleStatus.DELIVERED: frozenset({SampleStatus.QC_PASSED}),
        SampleStatus.FAILED: frozenset({SampleStatus.PROCESSING, SampleStatus.REGISTERED}),
    },
)


class IllegalTransition(Exception):
    """Raised when the stored status does not allow the requested change (or changed meanwhile)."""

    def __init__(self, lifecycle: Lifecycle, key: str, current: str | None, target: str) -> None:
        self.current, self.target = current, target
        allowed = ", ".join(sorted(lifecycle.sources(target))) or "nothing"
        super().__init__(
            f"{lifecycle.name} {key}: illegal transition {current or '(no record)'} → {target} "
            f"({target} may only follow: {allowed})"
        )


class NotOwner(Exception):
    """Raised when an execution that does not own a run tries to change it: a duplicate start, or an
    attempt that ended after a new attempt of the run began."""

    def __init__(self, key: str, owner: str | None, caller: str) -> None:
        self.owner, self.caller = owner, caller
        super().__init__(f"job {key}: owned by execution {owner or '(none)'}, not {caller}; left unchanged")
