"""The step writes of a run, applied to DynamoDB by one background thread, in the order they were made.

`submit` never blocks and never raises: Snakemake's logging thread hands a write over and goes on. The
thread retries a write that did not reach the table (connection refused or dropped, timeouts,
throttling, 5xx) with a capped exponential backoff, keeping every later write waiting behind it, so
one step's writes can never overtake each other; when the table answers again, the backlog drains.
The backlog is bounded in memory (`max_buffered` writes); beyond that, writes go to a spill file
(JSON lines) and come back from it in order. A write the table refuses for good (validation, access
denied, no such table) is dropped with a warning: retrying it could only hold up the others.
`close` drains what it can within its timeout and leaves the rest in a file it names.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from seqpipe.aws.repositories import JobRepository
from seqpipe.steps.writes import StepWrite

log = logging.getLogger(__name__)

THROTTLED = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "LimitExceededException",
    }
)
FIRST_RETRY_SECONDS = 0.2
MAX_RETRY_SECONDS = 10.0


def _retryable(error: Exception) -> bool:
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.response.get("Error", {}).get("Code") in THROTTLED or status >= 500
    return isinstance(error, BotoCoreError)  # could not connect, connection closed, timed out


class StepWriter:
    def __init__(self, jobs: JobRepository, spill_file: Path, max_buffered: int = 10_000) -> None:
        self.jobs = jobs
        self.spill_file = spill_file
        self.max_buffered = max_buffered
        self.written = 0  # writes that changed the table
        self.unchanged = 0  # conditional writes that found their change already made
        self.dropped = 0  # refused for good
        self.retries = 0  # failed tries that were tried again
        self._pending: deque[StepWrite] = deque()
        self._spilled = 0  # writes in the spill file not read back yet
        self._spill_offset = 0
        self._closing = False
        self._deadline = float("inf")
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="seqpipe-step-writer", daemon=True)
        self._thread.start()

    def submit(self, write: StepWrite) -> None:
        with self._changed:
            if self._spilled or len(self._pending) >= self.max_buffered:
                self._spill([write])
            else:
                self._pending.append(write)
            self._changed.notify()

    @property
    def backlog(self) -> int:
        """Writes made but not applied yet."""
        with self._changed:
            return len(self._pending) + self._spilled

    def close(self, timeout: float) -> int:
        """Apply what can be applied within `timeout` seconds; the rest stays in the spill file, which
        then holds exactly the writes not applied. Returns how many those are."""
        with self._changed:
            self._closing = True
            self._deadline = time.monotonic() + timeout
            self._changed.notify_all()
        self._thread.join(timeout + MAX_RETRY_SECONDS + 5)
        with self._changed:
            left = list(self._pending) + self._read_spill(self._spilled)
            self._pending.clear()
            self._spilled = 0
            if self.spill_file.exists():
                self.spill_file.unlink()
            self._spill_offset = 0
            if left:
                self._spill(left)
            return len(left)

    # ---- the writing thread --------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._pending and not self._spilled:
                    if self._closing:
                        return
                    self._changed.wait()
                if not self._pending:
                    self._pending.extend(self._read_spill(min(self._spilled, self.max_buffered)))
                write = self._pending[0]
            if not self._apply(write):
                return  # closing, and the deadline passed
            with self._changed:
                self._pending.popleft()

    def _apply(self, write: StepWrite) -> bool:
        """Apply one write, retrying while the table cannot be reached; False when `close`'s deadline
        passed first (the write is still pending)."""
        delay = FIRST_RETRY_SECONDS
        while True:
            try:
                if write.apply(self.jobs):
                    self.written += 1
                else:
                    self.unchanged += 1
                return True
            except Exception as error:
                if not _retryable(error):
                    self.dropped += 1
                    log.warning("seqpipe: step write %s %s refused: %s", write.op, write.job_id, error)
                    return True
                self.retries += 1
            with self._changed:
                wait = min(delay, self._deadline - time.monotonic())
                if wait <= 0:
                    return False
                self._changed.wait(wait)
            delay = min(delay * 2, MAX_RETRY_SECONDS)

    # ---- the spill file (only touched under the lock) --------------------------------------------
    def _spill(self, writes: list[StepWrite]) -> None:
        self.spill_file.parent.mkdir(parents=True, exist_ok=True)
        with self.spill_file.open("a") as fh:
            fh.writelines(json.dumps(w.to_json()) + "\n" for w in writes)
        self._spilled += len(writes)

    def _read_spill(self, count: int) -> list[StepWrite]:
        if count <= 0:
            return []
        with self.spill_file.open() as fh:
            fh.seek(self._spill_offset)
            writes = [StepWrite.from_json(json.loads(fh.readline())) for _ in range(count)]
            self._spill_offset = fh.tell()
        self._spilled -= count
        if not self._spilled:
            os.truncate(self.spill_file, 0)
            self._spill_offset = 0
        return writes
