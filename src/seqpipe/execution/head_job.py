"""The AWS Batch head job (``seqpipe-head-job``): what the Step Functions run starts.

It reads the run from the environment the state machine and the head job definition set, fetches
the run config next to the workflow, and replaces itself with the one Snakemake command line of
``seqpipe.execution.command`` for the aws-batch engine (the command the tests run against the
local endpoint). Queue, job role, image, region and task timeout reach Snakemake through the
aws-batch profile, which reads them from the same environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from seqpipe.execution.command import snakemake_argv

REQUIRED = ("SEQPIPE_RUN_ID", "SEQPIPE_CONFIG_URI", "SEQPIPE_OUTPUT_URI")
RUN_CONFIG = "run.yaml"


class HeadJobError(RuntimeError):
    """The head job's environment does not describe a run."""


@dataclass(frozen=True)
class HeadJobRun:
    run_id: str
    config_uri: str  # s3://bucket/key or a local path
    output_uri: str  # s3://<processed bucket>/runs/<run id>

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> HeadJobRun:
        missing = [name for name in REQUIRED if not environ.get(name)]
        if missing:
            raise HeadJobError(f"head job environment lacks {', '.join(missing)}")
        output = environ["SEQPIPE_OUTPUT_URI"]
        if not output.startswith("s3://"):
            raise HeadJobError(f"SEQPIPE_OUTPUT_URI must be an s3:// URI, got {output!r}")
        return cls(environ["SEQPIPE_RUN_ID"], environ["SEQPIPE_CONFIG_URI"], output)


def argv(run: HeadJobRun, profiles: Path | str = "profiles") -> list[str]:
    """The Snakemake command line of the run (relative to the workflow directory)."""
    return snakemake_argv(
        "aws-batch", profiles=profiles, configfile=RUN_CONFIG, storage_prefix=run.output_uri
    )


def fetch_config(uri: str, dest: Path) -> None:
    """Copy the run config to ``dest`` (Snakemake ships files below the workflow directory only)."""
    if uri.startswith("s3://"):
        import boto3

        bucket, _, key = uri[len("s3://") :].partition("/")
        boto3.client("s3").download_file(bucket, key, str(dest))
    else:
        dest.write_bytes(Path(uri).read_bytes())


def main() -> None:
    try:
        run = HeadJobRun.from_environment(os.environ)
    except HeadJobError as err:
        sys.exit(f"seqpipe-head-job: {err}")
    workdir = Path(os.environ.get("SEQPIPE_WORKFLOW_DIR", "."))
    fetch_config(run.config_uri, workdir / RUN_CONFIG)
    command = argv(run)
    print(" ".join(command), flush=True)
    os.chdir(workdir)
    os.execvp(command[0], command)
