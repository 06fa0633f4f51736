"""A run's step recording, put together: what the logger plugin (snakemake_logger_plugin_seqpipe) starts
with the run and closes at its end."""

from __future__ import annotations

import logging
import sys
import time
import uuid
from dataclasses import dataclass
from logging import LogRecord
from pathlib import Path

import boto3
from botocore.config import Config

from seqpipe.aws.repositories import JobRepository
from seqpipe.aws.settings import Settings
from seqpipe.steps.batch import BatchObserver
from seqpipe.steps.slurm import SacctProbe
from seqpipe.steps.tracker import StepTracker
from seqpipe.steps.writer import StepWriter

log = logging.getLogger(__name__)

# A write that cannot reach the table fails fast and is retried by the writer, not by botocore.
CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"})


@dataclass(frozen=True)
class RecorderOptions:
    engine_poll_seconds: float = 30.0  # how often sacct is asked about the run's SLURM jobs
    flush_seconds: float = 60.0  # how long the end of the run waits for DynamoDB
    max_buffered: int = 10_000  # writes kept in memory while DynamoDB is away; more go to a file
    spill_dir: Path = Path(".snakemake/seqpipe-steps")


class StepRecorder:
    def __init__(self, run_id: str, options: RecorderOptions, settings: Settings | None = None) -> None:
        self.run_id, self.options = run_id, options
        self.settings = settings or Settings.from_env()
        session = uuid.uuid4().hex[:8]
        # its own session: boto3's default one belongs to the executor's thread (and to BatchObserver)
        dynamodb = boto3.session.Session().resource("dynamodb", config=CLIENT_CONFIG)
        # relative: below the working directory Snakemake runs in once the run has started
        spill = options.spill_dir / f"{run_id}.{session}.jsonl"
        self.writer = StepWriter(
            JobRepository(self.settings.jobs_table, dynamodb), spill, options.max_buffered
        )
        self.tracker = StepTracker(run_id, session, self.writer.submit)
        self.sacct = SacctProbe(self.tracker, options.engine_poll_seconds)
        self.batch = BatchObserver(self.tracker)

    def handle(self, record: LogRecord) -> None:
        """Never raises: recording must not disturb the run."""
        try:
            self.tracker.handle(record)
        except Exception as error:
            log.warning("seqpipe: could not record a step from %r: %s", record.getMessage()[:200], error)

    def close(self) -> int:
        """Settle what is open, write what is pending; returns the writes left unwritten."""
        aborted = self.tracker.close(time.time())
        self.batch.close()
        self.sacct.close()
        left = self.writer.close(self.options.flush_seconds)
        w = self.writer
        notes = [
            f"{w.written} writes",
            f"{w.unchanged} already made",
            f"{w.retries} retried",
            f"{w.dropped} refused",
        ]
        notes += [f"{aborted} aborted"] if aborted else []
        notes += [f"{left} not written, kept in {w.spill_file.resolve()}"] if left else []
        where = f"run {self.run_id} in {self.settings.jobs_table}"
        print(
            f"seqpipe: recorded {self.tracker.queued} steps of {where} ({', '.join(notes)})", file=sys.stderr
        )
        return left
