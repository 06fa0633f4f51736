"""The AWS Batch head job turns the run's environment into the tested aws-batch command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqpipe.execution.head_job import HeadJobError, HeadJobRun, argv, fetch_config

RUN = {
    "SEQPIPE_RUN_ID": "r1",
    "SEQPIPE_CONFIG_URI": "s3://proc/config/r1.yaml",
    "SEQPIPE_OUTPUT_URI": "s3://proc/runs/r1",
}


def test_head_job_runs_the_aws_batch_command_of_the_run() -> None:
    command = argv(HeadJobRun.from_environment(RUN))
    assert command[:3] == ["snakemake", "--profile", "profiles/aws-batch"]
    assert command[command.index("--configfile") + 1] == "run.yaml"
    assert command[command.index("--default-storage-prefix") + 1] == "s3://proc/runs/r1"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "lacks SEQPIPE_RUN_ID, SEQPIPE_CONFIG_URI, SEQPIPE_OUTPUT_URI"),
        ({**RUN, "SEQPIPE_OUTPUT_URI": "/local/dir"}, "must be an s3:// URI"),
    ],
)
def test_head_job_rejects_an_environment_without_a_run(environ: dict, message: str) -> None:
    with pytest.raises(HeadJobError, match=message):
        HeadJobRun.from_environment(environ)


def test_head_job_fetches_the_run_config_from_s3(aws, tmp_path: Path) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="proc")
    s3.put_object(Bucket="proc", Key="config/r1.yaml", Body=b"outdir: results\n")
    fetch_config("s3://proc/config/r1.yaml", tmp_path / "run.yaml")
    assert (tmp_path / "run.yaml").read_text() == "outdir: results\n"
