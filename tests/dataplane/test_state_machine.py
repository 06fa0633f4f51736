"""The run state machine executed by the local endpoint: every branch, with the real handlers; runs that
end (time limits, failures, aborts) with their Batch jobs terminated; retries Batch makes for a lost
host only; attempts and ownership of a run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from batch_jobs import submit_job_of_run
from polling import wait_until

from seqpipe.aws.layout import run_output_uri
from seqpipe.aws.repositories import Repositories
from seqpipe.handlers.registry import JOBS_TERMINATED, METRICS_NAMESPACE, RUN_TIMEOUTS, CustomMetric

DATA = Path(__file__).resolve().parent / "data"
SEQPIPE = Path(sys.executable).parent / "seqpipe"

pytestmark = pytest.mark.aws

DATA_FILE = "reads_R1.fastq.gz"
HOST_LOST = "Host EC2 (instance i-"


@pytest.fixture
def raw_input(dataplane) -> str:
    key = f"P1/RUN1/S1/{DATA_FILE}"
    dataplane.client("s3").upload_file(str(DATA / DATA_FILE), dataplane.settings.raw_bucket, key)
    return f"s3://{dataplane.settings.raw_bucket}/{key}"


def metric_points(dataplane, metric: CustomMetric) -> list[dict]:
    """The metric's sums as its alarm reads them: namespace, name and the publishing function's
    `service` (the run cleanup publishes them, and the endpoint turns its EMF lines into metrics)."""
    now = datetime.now(UTC)
    return dataplane.client("cloudwatch").get_metric_statistics(
        Namespace=METRICS_NAMESPACE,
        MetricName=metric.name,
        Dimensions=[{"Name": "service", "Value": metric.function}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=300,
        Statistics=["Sum"],
    )["Datapoints"]


def metric_sum(dataplane, metric: CustomMetric) -> float:
    return sum(point["Sum"] for point in metric_points(dataplane, metric))


def task_processes(pid_dir: Path) -> dict[str, int]:
    """Task job id → pid of its process (each task job writes one file)."""
    return {path.name: int(path.read_text()) for path in pid_dir.iterdir() if path.read_text()}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def other_runs_task(deployment, run_id: str) -> str:
    """A task job of another run in the same task queue (it must be left running)."""
    batch = deployment.plane.client("batch")
    return submit_job_of_run(batch, deployment.task_queue, run_id, f"other-{run_id}", ["sleep", "120"])


def test_run_succeeds_with_qc_verdicts_and_delivers_approved_samples(dataplane, deploy_with, raw_input):
    deployment = deploy_with(SAMPLES="S1,S2", LOW_DEPTH_SAMPLES="S2")
    arn = deployment.start("RUN1", ["S1", "S2"], [raw_input])
    execution = deployment.wait(arn)

    assert execution["status"] == "SUCCEEDED"
    repos = Repositories.from_settings(dataplane.settings)
    job = repos.jobs.get("RUN1")
    assert job["status"] == "SUCCEEDED" and job["attempt"] == 1 and job["execution_arn"] == arn
    # Step Functions filled in the run id where the layout (and so the dashboard) expects the outputs
    assert job["output_uri"] == run_output_uri(dataplane.settings.processed_bucket, "RUN1")
    s1, s2 = repos.quality.get("S1", "RUN1"), repos.quality.get("S2", "RUN1")
    assert s1["verdict"] == "PASS" and s1["metrics"]["mean_depth"] == 38.77
    assert s2["verdict"] == "FAIL"
    assert [c["reason"] for c in s2["checks"] if c["verdict"] == "FAIL"] == [
        "mean_depth 5 is below the minimum 10"
    ]
    assert [q["sample"] for q in repos.quality.failing_in_project("P1")] == ["S2"]
    assert repos.metadata.get_sample("S1")["status"] == "DELIVERED"
    assert repos.metadata.get_sample("S2")["status"] == "QC_FAILED"
    manifest = json.loads(
        dataplane.client("s3")
        .get_object(Bucket=dataplane.settings.delivery_bucket, Key="RUN1/manifest.json")["Body"]
        .read()
    )
    assert {f["sample"] for f in manifest["files"]} == {"S1"}
    assert sorted(f["uri"].rsplit("/", 1)[-1] for f in manifest["files"]) == ["S1.bcftools.vcf.gz", "S1.cram"]
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])
    assert [j["status"] for j in deployment.jobs(deployment.head_queue)] == ["SUCCEEDED"]


def test_a_lost_host_is_retried_by_batch_and_the_run_succeeds(dataplane, deploy_with, raw_input, tmp_path):
    deployment = deploy_with(SAMPLES="S1", FAIL_ONCE_FLAG=str(tmp_path / "first-attempt"))
    arn = deployment.start("RUN1", ["S1"], [raw_input])
    execution = deployment.wait(arn)

    assert execution["status"] == "SUCCEEDED"
    # one head job, two attempts: Batch retried the lost host, Step Functions retried nothing
    ((head),) = deployment.jobs(deployment.head_queue)
    assert head["status"] == "SUCCEEDED"
    reasons = [attempt["statusReason"] for attempt in head["attempts"]]
    assert len(reasons) == 2 and reasons[0].startswith(HOST_LOST) and reasons[0].endswith(") terminated.")
    assert deployment.entered(arn).count("RunWorkflow") == 1
    assert Repositories.from_settings(dataplane.settings).jobs.get("RUN1")["status"] == "SUCCEEDED"


def test_a_pipeline_exit_code_fails_the_run_at_once_with_the_cause_and_an_alert(
    dataplane, deploy_with, raw_input
):
    deployment = deploy_with(SAMPLES="S1", EXIT_CODE="3")
    execution = deployment.wait(deployment.start("RUN1", ["S1"], [raw_input]))

    assert execution["status"] == "FAILED"
    # the pipeline's own failure is not retried: one job, one attempt
    ((head),) = deployment.jobs(deployment.head_queue)
    assert head["status"] == "FAILED" and [a["container"]["exitCode"] for a in head["attempts"]] == [3]
    job = Repositories.from_settings(dataplane.settings).jobs.get("RUN1")
    assert job["status"] == "FAILED"
    assert (
        job["error_name"] == "States.TaskFailed"
        and "Essential container in task exited" in job["error_cause"]
    )
    alerts = dataplane.alerts()
    assert len(alerts) == 1
    alert = json.loads(alerts[0]["Message"])
    assert alert["run_id"] == "RUN1" and alert["error"] == "States.TaskFailed"
    assert alert["execution"] == execution["executionArn"]
    # no sample id, input key or error cause leaves the account by e-mail
    assert set(alert) == {"run_id", "error", "execution", "details"} and "S1" not in alerts[0]["Message"]


def test_invalid_input_fails_the_run_before_the_workflow(dataplane, deploy_with):
    key = "P1/RUN1/S1/badeof.bam"
    dataplane.client("s3").upload_file(str(DATA / "badeof.bam"), dataplane.settings.raw_bucket, key)
    deployment = deploy_with(SAMPLES="S1")
    execution = deployment.wait(
        deployment.start("RUN1", ["S1"], [f"s3://{dataplane.settings.raw_bucket}/{key}"])
    )

    assert execution["status"] == "FAILED"
    job = Repositories.from_settings(dataplane.settings).jobs.get("RUN1")
    assert job["status"] == "FAILED" and job["error_name"] == "InputValidationError"
    assert "BGZF EOF block missing" in job["error_cause"]
    assert deployment.jobs(deployment.head_queue) == []


def test_when_the_head_job_fails_the_runs_task_jobs_are_terminated(
    dataplane, deploy_with, raw_input, tmp_path
):
    deployment = deploy_with(SAMPLES="S1", TASK_JOBS="2", TASK_PID_DIR=str(tmp_path), EXIT_CODE="3")
    other = other_runs_task(deployment, "RUN2")
    arn = deployment.start("RUN1", ["S1"], [raw_input])

    assert deployment.wait(arn)["status"] == "FAILED"
    tasks = [j for j in deployment.jobs(deployment.task_queue) if j["jobId"] != other]
    assert len(tasks) == 2
    ended = wait_until(
        lambda: all(
            j["status"] == "FAILED" for j in deployment.jobs(deployment.task_queue) if j["jobId"] != other
        ),
        what="task jobs terminated",
    )
    assert ended
    for task in (j for j in deployment.jobs(deployment.task_queue) if j["jobId"] != other):
        assert task["statusReason"] == f"seqpipe run RUN1: execution {arn.rsplit(':', 1)[1]} FAILED"
    pids = task_processes(tmp_path).values()
    assert len(pids) == 2
    for pid in pids:
        wait_until(lambda p=pid: not alive(p), what=f"task process {pid} gone")
    # another run's task is none of this run's business
    batch = dataplane.client("batch")
    assert batch.describe_jobs(jobs=[other])["jobs"][0]["status"] == "RUNNING"
    batch.terminate_job(jobId=other, reason="test over")
    # the sum, not the first point: an earlier test's cleanup may still be publishing after the reset
    wait_until(lambda: metric_sum(dataplane, JOBS_TERMINATED) >= 2, what="the cleanup's metrics")
    assert metric_sum(dataplane, JOBS_TERMINATED) == 2 and metric_sum(dataplane, RUN_TIMEOUTS) == 0


def test_a_head_job_past_its_time_limit_fails_the_run_with_the_cause_and_counts_a_timeout(
    dataplane, deploy_with, raw_input, tmp_path
):
    # the head job has submitted its task and seen it run ~1.5 s after it starts (on this 2-core machine
    # running other tests): 8 s leaves room on a loaded machine, and is far shorter than its run
    deployment = deploy_with(
        limits={"workflow_timeout_seconds": 8},
        SAMPLES="S1",
        TASK_JOBS="1",
        TASK_PID_DIR=str(tmp_path),
        SLEEP_SECONDS="120",
    )
    arn = deployment.start("RUN1", ["S1"], [raw_input])

    assert deployment.wait(arn)["status"] == "FAILED"
    assert deployment.entered(arn)[-4:] == ["RunWorkflow", "MarkFailed", "NotifyFailure", "RunFailed"]
    job = Repositories.from_settings(dataplane.settings).jobs.get("RUN1")
    assert job["status"] == "FAILED" and job["error_name"] == "States.Timeout"

    # the head job that ran too long and the task it submitted are stopped, and the alarm's metric counts
    def ended_jobs() -> list[dict]:
        every = [j for q in (deployment.head_queue, deployment.task_queue) for j in deployment.jobs(q)]
        return every if all(j["status"] == "FAILED" for j in every) else []

    wait_until(lambda: metric_sum(dataplane, RUN_TIMEOUTS) >= 1, what="the cleanup's metrics")
    jobs = wait_until(ended_jobs, what="head and task job terminated")
    assert len(jobs) == 2 and all(j["statusReason"].endswith(" FAILED") for j in jobs)
    assert metric_sum(dataplane, RUN_TIMEOUTS) == 1 and metric_sum(dataplane, JOBS_TERMINATED) == 2
    (pid,) = task_processes(tmp_path).values()
    wait_until(lambda: not alive(pid), what="task process gone")


def test_an_execution_past_its_time_limit_times_out_and_its_run_fails_with_the_cause(
    dataplane, deploy_with, raw_input
):
    # the states before RunWorkflow (three Lambdas) take ~3 s on this 2-core machine running other tests:
    # 12 s leaves them room on a loaded machine without waiting longer than that for the limit
    deployment = deploy_with(limits={"timeout_seconds": 12}, SAMPLES="S1")
    # no capacity for head jobs: the head job waits RUNNABLE, as with an exhausted vCPU quota
    dataplane.client("batch").update_compute_environment(
        computeEnvironment=deployment.head_compute_environment, state="DISABLED"
    )
    arn = deployment.start("RUN1", ["S1"], [raw_input])

    assert deployment.wait(arn)["status"] == "TIMED_OUT"
    jobs = Repositories.from_settings(dataplane.settings).jobs
    job = wait_until(lambda: (j := jobs.get("RUN1"))["status"] == "FAILED" and j, what="run marked FAILED")
    assert job["error_name"] == "States.Timeout" and "time limit" in job["error_cause"]
    ((head),) = wait_until(
        lambda: [j for j in deployment.jobs(deployment.head_queue) if j["status"] == "FAILED"],
        what="the waiting head job terminated",
    )
    assert head["statusReason"] == f"seqpipe run RUN1: execution {arn.rsplit(':', 1)[1]} TIMED_OUT"
    assert head["attempts"] == []  # it never ran
    wait_until(lambda: metric_sum(dataplane, RUN_TIMEOUTS) == 1, what="the timeout counted")


def test_an_aborted_run_is_marked_aborted_and_its_jobs_terminated(
    dataplane, deploy_with, raw_input, tmp_path
):
    deployment = deploy_with(SAMPLES="S1", TASK_JOBS="2", TASK_PID_DIR=str(tmp_path), SLEEP_SECONDS="120")
    arn = deployment.start("RUN1", ["S1"], [raw_input])
    pids = wait_until(lambda: len(found := task_processes(tmp_path)) == 2 and found, what="two task jobs")

    dataplane.client("stepfunctions").stop_execution(executionArn=arn)

    assert deployment.wait(arn)["status"] == "ABORTED"
    jobs = Repositories.from_settings(dataplane.settings).jobs
    job = wait_until(lambda: (j := jobs.get("RUN1"))["status"] == "ABORTED" and j, what="run marked ABORTED")
    assert job["error_name"] == "ExecutionAborted"
    every_job = wait_until(
        lambda: (
            all(
                j["status"] == "FAILED"
                for q in (deployment.head_queue, deployment.task_queue)
                for j in deployment.jobs(q)
            )
            and [j for q in (deployment.head_queue, deployment.task_queue) for j in deployment.jobs(q)]
        ),
        what="head and task jobs terminated",
    )
    assert len(every_job) == 3
    assert {j["statusReason"] for j in every_job} == {
        f"seqpipe run RUN1: execution {arn.rsplit(':', 1)[1]} ABORTED"
    }
    for pid in pids.values():
        wait_until(lambda p=pid: not alive(p), what=f"task process {pid} gone")
    wait_until(lambda: metric_sum(dataplane, JOBS_TERMINATED) >= 3, what="the cleanup's metrics")
    assert metric_sum(dataplane, JOBS_TERMINATED) == 3 and metric_sum(dataplane, RUN_TIMEOUTS) == 0


def test_starting_the_same_run_twice_runs_it_once(dataplane, deploy_with, raw_input):
    deployment = deploy_with(SAMPLES="S1")
    first = deployment.start("RUN1", ["S1"], [raw_input])
    second = deployment.start("RUN1", ["S1"], [raw_input])
    results = [deployment.wait(first), deployment.wait(second)]

    assert [r["status"] for r in results] == ["SUCCEEDED", "SUCCEEDED"]
    entered = [set(deployment.entered(arn)) for arn in (first, second)]
    assert sum("AlreadyStarted" in states for states in entered) == 1
    assert len(deployment.jobs(deployment.head_queue)) == 1
    assert Repositories.from_settings(dataplane.settings).jobs.get("RUN1")["attempt"] == 1


def test_a_duplicate_start_cannot_fail_the_run_it_does_not_own(dataplane, deploy_with, raw_input, tmp_path):
    go_on = tmp_path / "go-on"
    deployment = deploy_with(SAMPLES="S1", WAIT_FOR=str(go_on))
    owner = deployment.start("RUN1", ["S1"], [raw_input])
    jobs = Repositories.from_settings(dataplane.settings).jobs
    wait_until(lambda: deployment.jobs(deployment.head_queue), what="the owner's head job running")

    # the same run started again with an input RecordRun refuses: the duplicate fails ...
    duplicate = deployment.start("RUN1", [], [raw_input])

    assert deployment.wait(duplicate)["status"] == "FAILED"
    assert deployment.entered(duplicate) == ["RecordRun", "MarkFailed", "NotifyFailure", "RunFailed"]
    refused = [
        e["taskFailedEventDetails"]["error"]
        for e in deployment.history(duplicate)
        if "taskFailedEventDetails" in e
    ]
    assert "DynamoDB.ConditionalCheckFailedException" in refused
    # ... and neither its failure path nor its cleanup touches the running run or its head job
    wait_until(lambda: metric_points(dataplane, JOBS_TERMINATED), what="the duplicate's cleanup done")
    assert metric_sum(dataplane, JOBS_TERMINATED) == 0
    assert jobs.get("RUN1")["status"] == "RUNNING"
    assert [j["status"] for j in deployment.jobs(deployment.head_queue)] == ["RUNNING"]
    go_on.touch()
    assert deployment.wait(owner)["status"] == "SUCCEEDED"
    job = jobs.get("RUN1")
    assert job["status"] == "SUCCEEDED" and job["attempt"] == 1 and job["execution_arn"] == owner
    assert "error_name" not in job
    assert [j["status"] for j in deployment.jobs(deployment.head_queue)] == ["SUCCEEDED"]


def seqpipe_run_cloud(deployment, run_input: dict[str, Any], *options: str) -> subprocess.Popen:
    """`seqpipe run --cloud --json [options]` of the run, started (not waited for)."""
    args = ["--run-id", run_input["run_id"], "--project", run_input["project"], "--config-uri"]
    args += [run_input["config_uri"], *[a for s in run_input["samples"] for a in ("--sample", s)]]
    args += [a for uri in run_input["inputs"] for a in ("--input", uri)]
    return subprocess.Popen(
        [str(SEQPIPE), "run", "--cloud", *args, "--json", *options],
        env={**os.environ, "STATE_MACHINE_ARN": deployment.state_machine_arn},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen) -> tuple[int, dict | None, str]:
    stdout, stderr = process.communicate(timeout=180)
    return process.returncode, json.loads(stdout) if stdout.strip() else None, stderr


def test_a_failed_run_starts_again_as_its_next_attempt_once_for_concurrent_starts(
    dataplane, deploy_with, raw_input, tmp_path
):
    go_on = tmp_path / "go-on"
    deployment = deploy_with(SAMPLES="S1", WAIT_FOR=str(go_on))
    key = raw_input.removeprefix(f"s3://{dataplane.settings.raw_bucket}/")
    s3 = dataplane.client("s3")
    s3.upload_file(str(DATA / "badeof.bam"), dataplane.settings.raw_bucket, key)  # a truncated upload
    run_input = deployment.run_input("RUN1", ["S1"], [raw_input])

    code, first, _ = finished(seqpipe_run_cloud(deployment, run_input, "--wait"))
    assert code == 1 and first["status"] == "FAILED" and first["attempt"] == 1
    assert first["executionArn"].endswith(":RUN1-1")

    # the file is uploaded again; two operators start the run again at the same moment
    s3.upload_file(str(DATA / DATA_FILE), dataplane.settings.raw_bucket, key)
    retries = [finished(p) for p in [seqpipe_run_cloud(deployment, run_input) for _ in range(2)]]

    assert [(code, report["attempt"]) for code, report, _ in retries] == [(0, 2)] * 2
    second = first["executionArn"].removesuffix("-1") + "-2"
    assert {report["executionArn"] for _, report, _ in retries} == {second}
    go_on.touch()
    assert deployment.wait(second)["status"] == "SUCCEEDED"
    job = Repositories.from_settings(dataplane.settings).jobs.get("RUN1")
    assert job["status"] == "SUCCEEDED" and job["attempt"] == 2
    assert job["execution_arn"].endswith(":RUN1-2") and "error_name" not in job
    assert len(deployment.jobs(deployment.head_queue)) == 1

    # a run that is done is not started again
    code, _, stderr = finished(seqpipe_run_cloud(deployment, run_input, "--wait"))
    assert code == 4 and "run RUN1 is SUCCEEDED (attempt 2" in stderr
