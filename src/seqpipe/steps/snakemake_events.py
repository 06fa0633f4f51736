"""What a Snakemake 9 log record says about the run's jobs, read into small typed events.

Snakemake marks its records with `event` (snakemake_interface_logger_plugins' LogEvent, a StrEnum, so
compared here by value) and puts the fields as record attributes: JOB_INFO when a job (one attempt)
is handed to the executor — jobid, rule_name, wildcards, threads, resources, log, local —, JOB_FINISHED
(job_id) and JOB_ERROR (jobid) when it ended, GROUP_INFO (the member Job objects) before the
members of a group job, ERROR (the exception's text: a shell command's exit status) just before the
JOB_ERROR of a local job, from the same thread. Executors add plain messages: the SLURM plugin's
"Job <id> has been submitted with SLURM jobid <n> (log: <path>)." is the only record that names a
SLURM job while it is queued.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from logging import LogRecord
from typing import Any

JOB_INFO, JOB_FINISHED, JOB_ERROR = "job_info", "job_finished", "job_error"
GROUP_INFO, ERROR = "group_info", "error"

_SLURM_SUBMITTED = re.compile(r"^Job (\S+) has been submitted with SLURM jobid (\d+) \(log: (.+)\)\.$")
_EXIT_STATUS = re.compile(r"returned non-zero exit status (-?\d+)")
_SIGNAL = re.compile(r"died with <Signals\.\w+: (\d+)>")
# Snakemake prints storage files with a note: "s3://b/k.log (send to storage)"
_NOTE = re.compile(r" \([^()]*\)$")


@dataclass(frozen=True)
class JobQueued:
    jobid: int
    rule: str
    wildcards: dict[str, str]
    threads: int | None
    mem_mb: int | None
    logs: list[str]
    local: bool  # runs in Snakemake's own process or machine: it starts when it is handed over
    at: float


@dataclass(frozen=True)
class ExitStatus:
    """The exit status in an ERROR record (negative: killed by that signal), by emitting thread."""

    status: int
    thread: int | None


@dataclass(frozen=True)
class GroupQueued:
    """A group job's members; the group's own id is the uuid of one of them (Snakemake's GroupJob.jobid)."""

    member_uuids: list[str]
    jobids: list[int]


@dataclass(frozen=True)
class SlurmSubmitted:
    snakemake_id: str  # a job's id, or a group job's uuid
    slurm_jobid: str
    log: str


@dataclass(frozen=True)
class JobEnded:
    """JOB_FINISHED, or JOB_ERROR: one attempt of the job ended."""

    jobid: int
    at: float
    succeeded: bool


Event = JobQueued | JobEnded | ExitStatus | GroupQueued | SlurmSubmitted


def read_event(record: LogRecord) -> Event | None:
    """The event a record carries, or None for the records that say nothing about jobs."""
    kind = str(getattr(record, "event", "") or "")
    if kind == JOB_INFO:
        resources = getattr(record, "resources", None)
        return JobQueued(
            jobid=int(record.jobid),
            rule=str(record.rule_name),
            wildcards={str(k): str(v) for k, v in dict(getattr(record, "wildcards", None) or {}).items()},
            threads=_int(getattr(record, "threads", None)),
            mem_mb=_int(_resource(resources, "mem_mb")),
            logs=[_NOTE.sub("", str(path)) for path in getattr(record, "log", None) or []],
            local=bool(getattr(record, "local", False)),
            at=record.created,
        )
    if kind == JOB_FINISHED:
        return JobEnded(int(record.job_id), record.created, succeeded=True)
    if kind == JOB_ERROR:
        return JobEnded(int(record.jobid), record.created, succeeded=False)
    if kind == GROUP_INFO:
        jobs = list(getattr(record, "jobs", None) or [])
        return GroupQueued([str(job.uuid()) for job in jobs], [int(job.jobid) for job in jobs])
    if kind == ERROR:
        status = exit_status(record.getMessage())
        return None if status is None else ExitStatus(status, record.thread)
    if not kind and isinstance(record.msg, str) and (match := _SLURM_SUBMITTED.match(record.msg)):
        return SlurmSubmitted(*match.groups())
    return None


def exit_status(message: str) -> int | None:
    """A failed command's exit status in Python's words (CalledProcessError), negative for a signal."""
    if match := _EXIT_STATUS.search(message):
        return int(match.group(1))
    if match := _SIGNAL.search(message):
        return -int(match.group(1))
    return None


def target_spec(rule: str, wildcards: dict[str, str]) -> str:
    """How Snakemake names the job to a remote executor (`--target-jobs`, snakemake_interface_executor_
    plugins.utils.encode_target_jobs_cli_args): unique in a run, so engines' records map back to it."""
    values = ",".join(f'{k}="{v}"' if "," in v else f"{k}={v}" for k, v in wildcards.items())
    return f"{rule}:{values}"


def _resource(resources: Any, name: str) -> Any:
    getter = getattr(resources, "get", None)
    return getter(name) if callable(getter) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
