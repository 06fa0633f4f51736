"""The AWS Batch head job (``seqpipe-head-job``, the pipeline image's command): what the Step Functions
run starts.

The state machine's RunWorkflow step sets SEQPIPE_RUN_ID, SEQPIPE_CONFIG_URI (``s3://bucket/key`` of the
run config) and SEQPIPE_OUTPUT_URI (where the run's outputs go: seqpipe.aws.layout.run_output_uri,
``s3://<processed bucket>/runs/<run id>/results``). The head job definition
(infra/seqpipe_infra/batch_stack.py) sets SEQPIPE_TASK_TIMEOUT_SECONDS and the executor settings that
profiles/aws-batch reads (SNAKEMAKE_AWS_BATCH_JOB_QUEUE: the task queue); the image sets
SEQPIPE_WORKFLOW_DIR. The head job fetches the run config into the workflow directory, terminates the
task jobs an earlier attempt of itself left running (Batch retries a head job whose host was lost; its
Snakemake died with the host, its task jobs did not), and replaces itself with the one Snakemake
command line of ``seqpipe.execution.command`` for the aws-batch engine, with the step recorder on
and the storage prefix and outdir that put the outputs exactly at SEQPIPE_OUTPUT_URI, whatever outdir
the run config names (CollectQC, delivery and the dashboard look there)
(seqpipe.steps: it writes to the jobs table named by JOBS_TABLE or SEQPIPE_PREFIX, as everywhere in
seqpipe). Every task job carries the run id (seqpipe.aws.run_jobs). Credentials come from the job
role; no key is ever put on the command line.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from seqpipe.aws.layout import storage_of
from seqpipe.aws.run_jobs import RUN_ID_VARIABLE, terminate_run_jobs
from seqpipe.execution.command import snakemake_argv, workflow_environment
from seqpipe.steps import recording_args
from seqpipe.storage.s3 import S3Uri, client

REQUIRED = (
    RUN_ID_VARIABLE,
    "SEQPIPE_CONFIG_URI",
    "SEQPIPE_OUTPUT_URI",
    "SEQPIPE_TASK_TIMEOUT_SECONDS",
    "SNAKEMAKE_AWS_BATCH_JOB_QUEUE",
)
# Inside the workflow directory: Snakemake ships only sources (config files included) below its working
# directory to the Batch jobs, so it runs there, with the config beside the Snakefile.
RUN_CONFIG = "run.yaml"
EXIT_NO_RUN = 2


class HeadJobError(RuntimeError):
    """The head job's environment does not describe a run."""


@dataclass(frozen=True)
class HeadJobRun:
    run_id: str
    config_uri: S3Uri
    output_uri: str
    task_timeout_seconds: int
    task_queue: str
    workflow_dir: Path

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> HeadJobRun:
        missing = [name for name in REQUIRED if not environ.get(name)]
        if missing:
            raise HeadJobError(f"missing environment variables: {', '.join(missing)}")
        config = _object_uri(environ["SEQPIPE_CONFIG_URI"])
        output = environ["SEQPIPE_OUTPUT_URI"]
        try:
            storage_of(output)
        except ValueError:
            raise HeadJobError(
                f"SEQPIPE_OUTPUT_URI must be an s3:// URI, s3://bucket/prefix/outdir, got {output!r}"
            ) from None
        timeout = environ["SEQPIPE_TASK_TIMEOUT_SECONDS"]
        if not timeout.isdigit() or int(timeout) == 0:
            raise HeadJobError(f"SEQPIPE_TASK_TIMEOUT_SECONDS must be a number of seconds, got {timeout!r}")
        workflow_dir = Path(environ.get("SEQPIPE_WORKFLOW_DIR", "."))
        queue = environ["SNAKEMAKE_AWS_BATCH_JOB_QUEUE"]
        return cls(environ[RUN_ID_VARIABLE], config, output, int(timeout), queue, workflow_dir)


def _object_uri(value: str) -> S3Uri:
    try:
        uri = S3Uri.parse(value)
    except ValueError:
        uri = None
    if uri is None or not uri.key or uri.key.endswith("/"):
        raise HeadJobError(f"SEQPIPE_CONFIG_URI must be s3://bucket/key, got {value!r}")
    return uri


def argv(run: HeadJobRun) -> list[str]:
    """The Snakemake command line of the run (relative to the workflow directory), recording every step
    of the run in the jobs table (seqpipe.steps: Batch job ids, times, exit codes, logs in S3).

    The task timeout is given although profiles/aws-batch reads the same variable: should the profile
    ever lose it, the plugin's default (300 s) would kill every real job. `--envvars` puts the run id
    into every task job's definition, which is how the run's jobs are found (run_jobs).
    """
    storage_prefix, outdir = storage_of(run.output_uri)
    extra = [
        "--config",
        f"outdir={outdir}",
        "--aws-batch-task-timeout",
        str(run.task_timeout_seconds),
        "--envvars",
        RUN_ID_VARIABLE,
        *recording_args(run.run_id),
    ]
    return snakemake_argv("aws-batch", configfile=RUN_CONFIG, storage_prefix=storage_prefix, extra=extra)


def terminate_leftover_tasks(run: HeadJobRun) -> list[str]:
    """Task jobs of this run still active when the head job starts belong to an earlier attempt (this
    attempt has submitted none yet): they would write the same outputs as the ones it is about to
    submit."""
    reason = f"run {run.run_id}: a new head job attempt started; its Snakemake resubmits unfinished jobs"
    return terminate_run_jobs(client("batch"), [run.task_queue], run.run_id, reason)


def fetch_config(run: HeadJobRun) -> Path:
    """Copy the run config from S3 into the workflow directory."""
    dest = run.workflow_dir / RUN_CONFIG
    client("s3").download_file(run.config_uri.bucket, run.config_uri.key, str(dest))
    return dest


def main() -> int:
    try:
        run = HeadJobRun.from_environment(os.environ)
    except HeadJobError as err:
        print(f"seqpipe-head-job: {err}", file=sys.stderr)
        return EXIT_NO_RUN
    fetch_config(run)
    leftover = terminate_leftover_tasks(run)
    if leftover:
        print(f"seqpipe-head-job: terminated {len(leftover)} task jobs of an earlier attempt", flush=True)
    command = argv(run)
    print(f"seqpipe-head-job: run {run.run_id} in {run.workflow_dir}: {shlex.join(command)}", flush=True)
    os.chdir(run.workflow_dir)
    os.execvpe(command[0], command, workflow_environment())
