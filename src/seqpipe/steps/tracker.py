"""Each Snakemake job's attempts as step items: the events of seqpipe.steps.snakemake_events and what the
engines report (seqpipe.steps.slurm, seqpipe.steps.batch) become StepWrites, in the order they happen.

An attempt is QUEUED when Snakemake hands it to the executor; a local job RUNNING at once, a job on
SLURM or Batch when its engine says it started (or, if no engine said so, when Snakemake sees it end);
SUCCEEDED or FAILED when Snakemake says so (Snakemake decides: a job whose engine reports success but
whose outputs are missing has failed). A retry is a new attempt, a new item. Attempts still open when
the run ends are ABORTED. Log records arrive in Snakemake's logging thread, engine reports in others:
every entry point takes the lock.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from logging import LogRecord
from typing import Any

from seqpipe.aws.items import step_id, step_item
from seqpipe.aws.transitions import StepStatus
from seqpipe.steps.snakemake_events import (
    ExitStatus,
    GroupQueued,
    JobEnded,
    JobQueued,
    SlurmSubmitted,
    read_event,
    target_spec,
)
from seqpipe.steps.writes import StepWrite

SETTLED = frozenset({StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.ABORTED})


def iso(moment: float) -> str:
    """Epoch seconds as the tables' ISO-8601 UTC with milliseconds."""
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class EngineReport:
    """What an engine says of one of its jobs."""

    state: str  # the engine's own word (RUNNING, COMPLETED, OUT_OF_MEMORY, SUCCEEDED, …)
    started: bool  # it has started (and may have ended)
    ended: bool
    started_at: str | None = None
    finished_at: str | None = None
    exit_status: int | None = None  # the engine job's: on SLURM and Batch, that of Snakemake in the job
    log_stream: str | None = None  # a Batch job's CloudWatch log stream


@dataclass
class _Attempt:
    job_id: str
    jobid: int
    attempt: int
    target: str
    local: bool
    status: StepStatus = StepStatus.QUEUED
    engine_job_id: str | None = None


class StepTracker:
    def __init__(
        self,
        run_id: str,
        session: str,
        write: Callable[[StepWrite], None],
        workdir: Callable[[], str] = os.getcwd,
    ) -> None:
        self.run_id, self.session = run_id, session
        self._write = write
        self._workdir = workdir
        self._lock = threading.Lock()
        self._attempts: dict[int, _Attempt] = {}  # Snakemake job id → its latest attempt
        self._by_target: dict[tuple[str, int], _Attempt] = {}  # (target spec, attempt number)
        self._by_engine_id: dict[str, list[_Attempt]] = {}
        self._engine_pending: dict[str, str] = {}  # engine job id → engine, until it reported its end
        # engine jobs submitted before Snakemake's logging thread passed on their JOB_INFO
        self._early: dict[tuple[str, int], tuple[str, str]] = {}
        self._groups: dict[str, list[int]] = {}  # a member's uuid → the group's job ids
        self._exit_status: dict[int | None, int] = {}  # thread → the status its last ERROR named
        self.queued = 0  # attempts seen (for the end-of-run line)

    # ---- Snakemake's log records ---------------------------------------------------------------
    def handle(self, record: LogRecord) -> None:
        event = read_event(record)
        with self._lock:
            if not isinstance(event, ExitStatus | JobEnded):
                # an ERROR's status belongs to the JOB_ERROR that follows it in the same thread only
                self._exit_status.pop(record.thread, None)
            if isinstance(event, JobQueued):
                self._queued(event)
            elif isinstance(event, JobEnded) and event.succeeded:
                self._settle(event.jobid, StepStatus.SUCCEEDED, event.at, {})
            elif isinstance(event, JobEnded):
                status = self._exit_status.pop(record.thread, None)
                extra = {} if status is None else {"exit_status": status}
                self._settle(event.jobid, StepStatus.FAILED, event.at, extra)
            elif isinstance(event, ExitStatus):
                self._exit_status[event.thread] = event.status
            elif isinstance(event, GroupQueued):
                self._groups.update({uuid: event.jobids for uuid in event.member_uuids})
            elif isinstance(event, SlurmSubmitted):
                jobids = self._groups.get(event.snakemake_id) or (
                    [int(event.snakemake_id)] if event.snakemake_id.isdigit() else []
                )
                attempts = [self._attempts[j] for j in jobids if j in self._attempts]
                self._engine_job(attempts, "slurm", event.slurm_jobid, {"engine_log": event.log})

    def _queued(self, event: JobQueued) -> None:
        previous = self._attempts.get(event.jobid)
        number = previous.attempt + 1 if previous else 1
        attempt = _Attempt(
            job_id=step_id(self.run_id, self.session, event.jobid, number),
            jobid=event.jobid,
            attempt=number,
            target=target_spec(event.rule, event.wildcards),
            local=event.local,
        )
        self._attempts[event.jobid] = self._by_target[(attempt.target, number)] = attempt
        self.queued += 1
        at = iso(event.at)
        item = step_item(
            self.run_id, attempt.job_id, event.rule, number, at,
            sample=event.wildcards.get("sample"), wildcards=event.wildcards, snakemake_jobid=event.jobid,
            session=self.session, threads=event.threads, mem_mb=event.mem_mb,
            logs=[self._location(path) for path in event.logs], engine="local" if event.local else None,
        )  # fmt: skip
        self._write(StepWrite("create", attempt.job_id, item=item))
        if event.local:
            self._advance(attempt, StepStatus.RUNNING, at, {"started_at": at})
        if early := self._early.pop((attempt.target, number), None):
            self._engine_job([attempt], *early, {})

    def _settle(self, jobid: int, status: StepStatus, at: float, attributes: dict[str, Any]) -> None:
        attempt = self._attempts.get(jobid)
        if attempt is None or attempt.status in SETTLED:
            return  # not a job of this run's recording, or a repeated event
        moment = iso(at)
        if attempt.status == StepStatus.QUEUED and status == StepStatus.SUCCEEDED:
            # no engine said when it started: it ran, at the latest until now
            self._advance(attempt, StepStatus.RUNNING, moment, {})
        self._advance(attempt, status, moment, {"finished_at": moment, **attributes})

    def _advance(self, attempt: _Attempt, status: StepStatus, at: str, attributes: dict[str, Any]) -> None:
        attempt.status = status
        self._write(StepWrite("advance", attempt.job_id, status=status, at=at, attributes=attributes))

    def _location(self, path: str) -> str:
        return path if "://" in path else os.path.join(self._workdir(), path)

    # ---- the engines ---------------------------------------------------------------------------
    def engine_job_of_target(self, targets: list[str], attempt: int, engine: str, engine_job_id: str) -> None:
        """An engine job was submitted for these --target-jobs specs (a job, or a group's members).
        Called from the executor's thread, maybe before the logging thread passed on the JOB_INFO."""
        with self._lock:
            for target in targets:
                if (target, attempt) in self._by_target:
                    self._engine_job([self._by_target[(target, attempt)]], engine, engine_job_id, {})
                else:
                    self._early[(target, attempt)] = (engine, engine_job_id)

    def _engine_job(self, attempts: list[_Attempt], engine: str, engine_job_id: str, extra: dict) -> None:
        if attempts:
            self._engine_pending[engine_job_id] = engine
        for attempt in attempts:
            attempt.engine_job_id = engine_job_id
            self._by_engine_id.setdefault(engine_job_id, []).append(attempt)
            attributes = {"engine": engine, "engine_job_id": engine_job_id, **extra}
            self._write(StepWrite("annotate", attempt.job_id, attributes=attributes))

    def engine_report(self, engine_job_id: str, report: EngineReport) -> None:
        with self._lock:
            if report.ended:
                self._engine_pending.pop(engine_job_id, None)
            for attempt in self._by_engine_id.get(engine_job_id, []):
                if report.started and attempt.status == StepStatus.QUEUED:
                    at = report.started_at or iso(datetime.now(UTC).timestamp())
                    self._advance(attempt, StepStatus.RUNNING, at, {"started_at": at})
                if report.ended:
                    found = {
                        "engine_state": report.state,
                        "started_at": report.started_at,
                        "engine_finished_at": report.finished_at,
                        "engine_exit_status": report.exit_status,
                        "engine_log_stream": report.log_stream,
                    }
                    attributes = {k: v for k, v in found.items() if v is not None}
                    self._write(StepWrite("annotate", attempt.job_id, attributes=attributes))

    def pending_engine_jobs(self, engine: str) -> list[str]:
        """The engine's jobs of this run that have not reported their end yet."""
        with self._lock:
            return sorted(job for job, name in self._engine_pending.items() if name == engine)

    # ---- the end of the run --------------------------------------------------------------------
    def close(self, at: float) -> int:
        """ABORT every attempt still open (Snakemake stopped without settling it); returns how many."""
        with self._lock:
            open_ = [a for a in self._attempts.values() if a.status not in SETTLED]
            for attempt in open_:
                self._advance(attempt, StepStatus.ABORTED, iso(at), {"finished_at": iso(at)})
            return len(open_)
