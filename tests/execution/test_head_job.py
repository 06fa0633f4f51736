"""The AWS Batch head job turns the run's environment into the tested aws-batch command line, after
terminating the task jobs an earlier attempt of itself left running."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from batch_jobs import submit_job_of_run

from seqpipe.aws.layout import run_output_uri
from seqpipe.aws.run_jobs import RUN_ID_VARIABLE
from seqpipe.execution.head_job import HeadJobError, HeadJobRun, argv, fetch_config, terminate_leftover_tasks

RUN = {
    "SEQPIPE_RUN_ID": "r1",
    "SEQPIPE_CONFIG_URI": "s3://proc/config/r1.yaml",
    "SEQPIPE_OUTPUT_URI": run_output_uri("proc", "r1"),
    "SEQPIPE_TASK_TIMEOUT_SECONDS": "21600",
    "SNAKEMAKE_AWS_BATCH_JOB_QUEUE": "arn:aws:batch:us-east-1:123456789012:job-queue/tasks",
}


def test_head_job_runs_the_aws_batch_command_of_the_run() -> None:
    command = argv(HeadJobRun.from_environment(RUN))
    assert command[:3] == ["snakemake", "--profile", "profiles/aws-batch"]
    assert command[command.index("--configfile") + 1] == "run.yaml"
    # outputs exactly at SEQPIPE_OUTPUT_URI (runs/r1/results), whatever outdir run.yaml names
    assert command[command.index("--default-storage-prefix") + 1] == "s3://proc/runs/r1"
    assert command[command.index("--config") + 1] == "outdir=results"
    # explicit: the plugin's own default (300 s) would kill every real job
    assert command[command.index("--aws-batch-task-timeout") + 1] == "21600"
    # every step of the run recorded under its run id (seqpipe.steps)
    assert command[command.index("--logger") + 1] == "seqpipe"
    assert command[command.index("--logger-seqpipe-run-id") + 1] == "r1"
    # every task job's definition carries the run id: how the run's jobs are found
    assert command[command.index("--envvars") + 1] == RUN_ID_VARIABLE


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
            "SEQPIPE_TASK_TIMEOUT_SECONDS, SNAKEMAKE_AWS_BATCH_JOB_QUEUE",
        ),
        ({**RUN, "SEQPIPE_TASK_TIMEOUT_SECONDS": ""}, "missing environment variables: SEQPIPE_TASK_TIMEOUT"),
        ({**RUN, "SEQPIPE_OUTPUT_URI": "/local/dir"}, "SEQPIPE_OUTPUT_URI must be an s3:// URI"),
        ({**RUN, "SEQPIPE_OUTPUT_URI": "s3://proc"}, "SEQPIPE_OUTPUT_URI must be an s3:// URI"),
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


def test_head_job_terminates_the_task_jobs_an_earlier_attempt_left_running(aws, batch_queue) -> None:
    batch, queue = aws("batch"), batch_queue.queue_arn
    jobs = {
        submit_job_of_run(batch, queue, run_id, f"map_reads-{i}", ["sleep", "60"]): run_id
        for i, run_id in enumerate(("r1", "r1", "r2"))
    }

    terminated = terminate_leftover_tasks(
        HeadJobRun.from_environment({**RUN, "SNAKEMAKE_AWS_BATCH_JOB_QUEUE": queue})
    )

    assert sorted(terminated) == sorted(job for job, run_id in jobs.items() if run_id == "r1")
    deadline = time.monotonic() + 30  # a terminated job is FAILED once its container has stopped
    while not all(j["status"] == "FAILED" for j in batch.describe_jobs(jobs=terminated)["jobs"]):
        assert time.monotonic() < deadline, "terminated jobs still running after 30 s"
        time.sleep(0.2)
    described = {j["jobId"]: j for j in batch.describe_jobs(jobs=list(jobs))["jobs"]}
    for job, run_id in jobs.items():
        assert described[job]["status"] == ("FAILED" if run_id == "r1" else "RUNNING")
    assert all("a new head job attempt started" in described[job]["statusReason"] for job in terminated)
    (other,) = (job for job, run_id in jobs.items() if run_id == "r2")
    batch.terminate_job(jobId=other, reason="test over")
