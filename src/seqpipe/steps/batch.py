"""The run's AWS Batch jobs, read off the Batch executor's own API calls (no extra request).

The executor (snakemake-executor-plugin-aws-batch) logs a job's Batch id only at DEBUG level, which a
run at INFO never emits, so the logger plugin listens where the id is known: botocore's events on
boto3's default session, from which the executor makes its client. Its RegisterJobDefinition carries
the job's command (`--target-jobs <rule:wildcards> … --attempt <n>`), the SubmitJob that follows names
that definition and answers the job id, and its status polls (DescribeJobs) say when the job started,
stopped and with which exit code. A handler never raises into the executor's call.
"""

from __future__ import annotations

import logging
import shlex
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3

from seqpipe.steps.tracker import EngineReport, StepTracker

log = logging.getLogger(__name__)

ENGINE = "aws-batch"
ENDED = frozenset({"SUCCEEDED", "FAILED"})
STARTED = frozenset({"RUNNING"}) | ENDED
_TARGET = "seqpipe_target"  # where the request context carries the submitted job's target


def targets_of(command: str) -> tuple[list[str], int]:
    """The --target-jobs specs and the --attempt of a Snakemake remote-job command line."""
    words = shlex.split(command)
    targets: list[str] = []
    if "--target-jobs" in words:
        for word in words[words.index("--target-jobs") + 1 :]:
            if word.startswith("--"):
                break
            targets.append(word)
    attempt = words[words.index("--attempt") + 1] if "--attempt" in words else "1"
    return targets, int(attempt)


def report_of(job: dict[str, Any]) -> EngineReport:
    """A DescribeJobs entry as an EngineReport."""
    status = str(job.get("status", ""))
    container = job.get("container") or {}
    return EngineReport(
        state=status,
        started=status in STARTED and "startedAt" in job,
        ended=status in ENDED,
        started_at=_time(job.get("startedAt")),
        finished_at=_time(job.get("stoppedAt")) if status in ENDED else None,
        exit_status=container.get("exitCode") if status in ENDED else None,
        log_stream=container.get("logStreamName"),
    )


def _time(epoch_ms: Any) -> str | None:
    if not isinstance(epoch_ms, int):
        return None
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BatchObserver:
    def __init__(self, tracker: StepTracker, session: boto3.Session | None = None) -> None:
        self.tracker = tracker
        if session is None:
            if boto3.DEFAULT_SESSION is None:
                boto3.setup_default_session()
            session = boto3.DEFAULT_SESSION
        self._events = session.events
        self._definitions: dict[str, tuple[list[str], int]] = {}  # job definition name → targets
        self._lock = threading.Lock()
        self._handlers = [
            (event, _never_raising(handler))
            for event, handler in (
                ("before-parameter-build.batch.RegisterJobDefinition", self._defined),
                ("before-parameter-build.batch.SubmitJob", self._submitting),
                ("after-call.batch.SubmitJob", self._submitted),
                ("after-call.batch.DescribeJobs", self._described),
            )
        ]
        for event, handler in self._handlers:
            self._events.register(event, handler)

    def close(self) -> None:
        for event, handler in self._handlers:
            self._events.unregister(event, handler)

    def _defined(self, params: dict[str, Any], **_: Any) -> None:
        command = (params.get("containerProperties") or {}).get("command") or []
        if command:
            with self._lock:
                self._definitions[params["jobDefinitionName"]] = targets_of(command[-1])

    def _submitting(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        name = str(params.get("jobDefinition", "")).rsplit(":", 1)[0]
        with self._lock:
            context[_TARGET] = self._definitions.pop(name, None)

    def _submitted(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        target = context.get(_TARGET)
        if target and parsed.get("jobId"):
            targets, attempt = target
            self.tracker.engine_job_of_target(targets, attempt, ENGINE, parsed["jobId"])

    def _described(self, parsed: dict[str, Any], **_: Any) -> None:
        for job in parsed.get("jobs") or []:
            self.tracker.engine_report(job["jobId"], report_of(job))


def _never_raising(handler: Callable[..., None]) -> Callable[..., None]:
    def guarded(**kwargs: Any) -> None:
        try:
            handler(**kwargs)
        except Exception as error:
            log.warning("seqpipe: could not read a Batch call for the step records: %s", error)

    return guarded
