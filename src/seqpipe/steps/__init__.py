"""Every step of a run in the `processing-jobs` table: one item per attempt of each Snakemake job.

Snakemake hands its log records to the logger plugin `snakemake_logger_plugin_seqpipe` (enabled by
``seqpipe run --record`` and the Batch head job, `recording_args`), which passes them to a `StepRecorder`:

- `snakemake_events` reads what a record says (a job queued, finished or failed, a SLURM submission);
- `tracker` keeps each job's current attempt and turns events into step writes (QUEUED → RUNNING →
  SUCCEEDED/FAILED, a retry being a new attempt);
- `slurm` asks sacct when a submitted job starts and how it ended; `batch` reads the same from the
  Batch executor's own SubmitJob and DescribeJobs calls;
- `writer` applies the writes to DynamoDB in a background thread, in order, retried, buffered (and
  spilled to a file) while the table is slow or unreachable, so the workflow never waits for it.
"""

from __future__ import annotations

PLUGIN = "seqpipe"  # Snakemake's name of the logger plugin (module snakemake_logger_plugin_seqpipe)


def recording_args(run_id: str) -> list[str]:
    """The Snakemake arguments that record a run's steps under `run_id`."""
    return ["--logger", PLUGIN, f"--logger-{PLUGIN}-run-id", run_id]
