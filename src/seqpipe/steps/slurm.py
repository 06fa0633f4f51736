"""When the run's SLURM jobs start and how they end, from sacct (slurmdbd; the SLURM executor needs it
too): one `sacct -j <ids>` every `interval` seconds for the jobs that have not ended, in a thread of
its own, and once more at the end of the run."""

from __future__ import annotations

import logging
import subprocess
import threading
from datetime import UTC, datetime

from seqpipe.steps.tracker import EngineReport, StepTracker

log = logging.getLogger(__name__)

ENGINE = "slurm"
FIELDS = "JobIDRaw,State,Start,End,ExitCode"
NOT_ENDED = frozenset(
    {"PENDING", "RUNNING", "REQUEUED", "RESIZING", "SUSPENDED", "CONFIGURING", "COMPLETING"}
)
SACCT_TIMEOUT_SECONDS = 30


def report_of(state: str, start: str, end: str, exit_code: str) -> EngineReport:
    """One sacct line's fields as an EngineReport. sacct prints local times without a zone; its
    ExitCode is `<status>:<signal>` (a signal is reported as a negative status)."""
    word = state.split()[0] if state else "UNKNOWN"  # "CANCELLED by 0"
    status, _, signal = exit_code.partition(":")
    ended = word not in NOT_ENDED
    exit_status = None
    if ended and status.isdigit():
        exit_status = -int(signal) if signal.isdigit() and int(signal) else int(status)
    return EngineReport(
        state=word,
        started=_time(start) is not None,
        ended=ended,
        started_at=_time(start),
        finished_at=_time(end) if ended else None,
        exit_status=exit_status,
    )


def _time(value: str) -> str | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None  # Unknown, None: not started (or not ended) yet
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SacctProbe:
    def __init__(self, tracker: StepTracker, interval: float, sacct: str = "sacct") -> None:
        self.tracker, self.interval, self.sacct = tracker, interval, sacct
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="seqpipe-sacct", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def poll(self) -> None:
        jobs = self.tracker.pending_engine_jobs(ENGINE)
        if not jobs:
            return
        try:
            out = subprocess.run(
                [self.sacct, "-X", "-n", "-P", "-j", ",".join(jobs), "-o", FIELDS],
                capture_output=True, text=True, timeout=SACCT_TIMEOUT_SECONDS, check=True,
            ).stdout  # fmt: skip
        except (OSError, subprocess.SubprocessError) as error:
            log.warning("seqpipe: sacct did not answer (%s); steps keep their last status", error)
            return
        for line in out.splitlines():
            job, state, start, end, exit_code = (line.split("|") + [""] * 5)[:5]
            if job in jobs:
                self.tracker.engine_report(job, report_of(state, start, end, exit_code))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(SACCT_TIMEOUT_SECONDS + 5)
        self.poll()
