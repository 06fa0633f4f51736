"""The AWS Batch head job turns the run's environment into the tested aws-batch command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqpipe.execution.head_job import HeadJobError, HeadJobRun, argv, fetch_config

RUN = {
    "SEQPIPE_RUN_ID": "r1",
    "SEQPIPE_CONFIG_URI": "s3://proc/config/r1.yaml",
    "SEQPIPE_OUTPUT_URI": "s3://proc/runs/r1",
    "SEQPIPE_TASK_TIMEOUT_SECONDS": "21600",
}


def test_head_job_runs_the_aws_batch_command_of_the_run() -> None:
    command = argv(HeadJobRun.from_environment(RUN))
    assert command[:3] == ["snakemake", "--profile", "profiles/aws-batch"]
    assert command[command.index("--configfile") + 1] == "run.yaml"
    assert command[command.index("--default-storage-prefix") + 1] == "s3://proc/runs/r1"
    # explicit: the plugin's own default (300 s) would kill every real job
    assert command[command.index("--aws-batch-task-timeout") + 1] == "21600"
    # every step of the run recorded under its run id (seqpipe.steps)
    assert command[command.index("--logger") + 1] == "seqpipe"
    assert command[command.index("--logger-seqpipe-run-id") + 1] == "r1"


def test_head_job_works_in_the_workflow_directory_of_the_image() -> None:
    assert HeadJobRun.from_environment(RUN).workflow_dir == Path(".")
    run = HeadJobRun.from_environment({**RUN, "SEQPIPE_WORKFLOW_DIR": "/opt/seqpipe"})
    assert run.workflow_dir == Path("/opt/seqpipe")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {},
            "missing environment variables: SEQPIPE_RUN_ID, SEQPIPE_CONFIG_URI, SEQPIPE_OUTPUT_URI, "
            "SEQPIPE_TASK_TIMEOUT_SECONDS",
        ),
        ({**RUN, "SEQPIPE_TASK_TIMEOUT_SECONDS": ""}, "missing environment variables: SEQPIPE_TASK_TIMEOUT"),
        ({**RUN, "SEQPIPE_OUTPUT_URI": "/local/dir"}, "SEQPIPE_OUTPUT_URI must be an s3:// URI"),
        ({**RUN, "SEQPIPE_CONFIG_URI": "run.yaml"}, "SEQPIPE_CONFIG_URI must be s3://bucket/key"),
        ({**RUN, "SEQPIPE_CONFIG_URI": "s3://proc/config/"}, "SEQPIPE_CONFIG_URI must be s3://bucket/key"),
        ({**RUN, "SEQPIPE_TASK_TIMEOUT_SECONDS": "6h"}, "must be a number of seconds, got '6h'"),
        ({**RUN, "SEQPIPE_TASK_TIMEOUT_SECONDS": "0"}, "must be a number of seconds, got '0'"),
    ],
)
def test_head_job_rejects_an_environment_without_a_run(environ: dict, message: str) -> None:
    with pytest.raises(HeadJobError, match=message):
        HeadJobRun.from_environment(environ)


def test_head_job_fetches_the_run_config_from_s3_into_the_workflow_directory(aws, tmp_path: Path) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="proc")
    s3.put_object(Bucket="proc", Key="config/r1.yaml", Body=b"outdir: results\n")
    run = HeadJobRun.from_environment({**RUN, "SEQPIPE_WORKFLOW_DIR": str(tmp_path)})
    assert fetch_config(run) == tmp_path / "run.yaml"
    assert (tmp_path / "run.yaml").read_text() == "outdir: results\n"
