"""Snakemake logger plugin `seqpipe`: every job of the run as a step item in the processing-jobs table.

    snakemake --logger seqpipe --logger-seqpipe-run-id RUN_42 …   (what `seqpipe run --record` adds)

Snakemake finds the plugin by this module's name. The work is done by seqpipe.steps (StepRecorder);
this module only adapts it to the plugin interface (snakemake_interface_logger_plugins 2.x). Table
names come from the environment as for the rest of seqpipe (JOBS_TABLE, SEQPIPE_PREFIX).
"""

# No `from __future__ import annotations`: the plugin interface builds Snakemake's command-line options
# from the settings' field types, which must be real types, not strings.
from dataclasses import dataclass, field
from logging import LogRecord
from pathlib import Path

from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.settings import LogHandlerSettingsBase

from seqpipe.steps.recorder import RecorderOptions, StepRecorder

_DEFAULTS = RecorderOptions()


@dataclass
class LogHandlerSettings(LogHandlerSettingsBase):
    run_id: str | None = field(
        default=None,
        metadata={
            "help": "Record the steps under this run id.",
            "env_var": True,
            "required": True,
            "type": str,
        },
    )
    engine_poll_seconds: float = field(
        default=_DEFAULTS.engine_poll_seconds,
        metadata={"help": "Seconds between two sacct queries about the run's SLURM jobs.", "env_var": True},
    )
    flush_seconds: float = field(
        default=_DEFAULTS.flush_seconds,
        metadata={"help": "Seconds the end of the run waits for DynamoDB to take the last writes."},
    )
    max_buffered: int = field(
        default=_DEFAULTS.max_buffered,
        metadata={"help": "Writes kept in memory while DynamoDB is unreachable; more go to a file."},
    )
    spill_dir: Path = field(
        default=_DEFAULTS.spill_dir,
        metadata={"help": "Where the writes that wait for DynamoDB go beyond max-buffered."},
    )


class LogHandler(LogHandlerBase):
    def __post_init__(self) -> None:
        settings = self.settings
        assert isinstance(settings, LogHandlerSettings) and settings.run_id
        # a dry run writes nothing; remote job steps never load logger plugins
        self.recorder = (
            None
            if self.common_settings.dryrun
            else StepRecorder(
                settings.run_id,
                RecorderOptions(
                    settings.engine_poll_seconds,
                    settings.flush_seconds,
                    settings.max_buffered,
                    settings.spill_dir,
                ),
            )
        )

    def emit(self, record: LogRecord) -> None:
        if self.recorder is not None:
            self.recorder.handle(record)

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
        super().close()

    # Snakemake's own stream and file handlers stay; this one only records, and sees every record
    # (its own filter: `--quiet rules` must not hide jobs from the table). Plain attributes stand for
    # the interface's abstract properties.
    writes_to_stream = writes_to_file = needs_rulegraph = False
    has_filter = has_formatter = True
