"""The run state machine executed by the local endpoint: every branch, with the real handlers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seqpipe.aws.layout import run_output_uri
from seqpipe.aws.repositories import Repositories

DATA = Path(__file__).resolve().parent / "data"

pytestmark = pytest.mark.aws

DATA_FILE = "reads_R1.fastq.gz"


@pytest.fixture
def raw_input(dataplane) -> str:
    key = f"P1/RUN1/S1/{DATA_FILE}"
    dataplane.client("s3").upload_file(str(DATA / DATA_FILE), dataplane.settings.raw_bucket, key)
    return f"s3://{dataplane.settings.raw_bucket}/{key}"


def batch_jobs(dataplane) -> list[dict]:
    batch = dataplane.client("batch")
    return [
        j
        for status in ("SUCCEEDED", "FAILED", "RUNNING", "SUBMITTED", "RUNNABLE")
        for j in batch.list_jobs(jobQueue="test-queue", jobStatus=status)["jobSummaryList"]
    ]


def test_run_succeeds_with_qc_verdicts_and_delivers_approved_samples(dataplane, deploy_with, raw_input):
    deployment = deploy_with(SAMPLES="S1,S2", LOW_DEPTH_SAMPLES="S2")
    execution = deployment.wait(deployment.start("RUN1", ["S1", "S2"], [raw_input]))

    assert execution["status"] == "SUCCEEDED"
    repos = Repositories.from_settings(dataplane.settings)
    job = repos.jobs.get("RUN1")
    assert job["status"] == "SUCCEEDED" and job["attempt"] == 1
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
    assert len(batch_jobs(dataplane)) == 1


def test_transient_workflow_failure_is_retried_then_succeeds(dataplane, deploy_with, raw_input, tmp_path):
    deployment = deploy_with(SAMPLES="S1", FAIL_ONCE_FLAG=str(tmp_path / "first-attempt"))
    execution = deployment.wait(deployment.start("RUN1", ["S1"], [raw_input]))

    assert execution["status"] == "SUCCEEDED"
    statuses = sorted(j["status"] for j in batch_jobs(dataplane))
    assert statuses == ["FAILED", "SUCCEEDED"]
    assert Repositories.from_settings(dataplane.settings).jobs.get("RUN1")["status"] == "SUCCEEDED"


def test_workflow_failure_marks_job_failed_with_cause_and_alerts(dataplane, deploy_with, raw_input):
    deployment = deploy_with(SAMPLES="S1", EXIT_CODE="3")
    execution = deployment.wait(deployment.start("RUN1", ["S1"], [raw_input]))

    assert execution["status"] == "FAILED"
    job = Repositories.from_settings(dataplane.settings).jobs.get("RUN1")
    assert job["status"] == "FAILED"
    assert job["error_name"] == "States.TaskFailed" and "FAILED" in job["error_cause"]
    alerts = dataplane.alerts()
    assert len(alerts) == 1
    assert json.loads(alerts[0]["Message"])["run_id"] == "RUN1"


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
    assert batch_jobs(dataplane) == []


def test_starting_the_same_run_twice_runs_it_once(dataplane, deploy_with, raw_input):
    deployment = deploy_with(SAMPLES="S1")
    first = deployment.start("RUN1", ["S1"], [raw_input])
    second = deployment.start("RUN1", ["S1"], [raw_input])
    results = [deployment.wait(first), deployment.wait(second)]

    assert [r["status"] for r in results] == ["SUCCEEDED", "SUCCEEDED"]
    entered = [
        {
            e["stateEnteredEventDetails"]["name"]
            for e in deployment.history(arn)
            if "stateEnteredEventDetails" in e
        }
        for arn in (first, second)
    ]
    assert sum("AlreadyStarted" in states for states in entered) == 1
    assert len(batch_jobs(dataplane)) == 1
    assert Repositories.from_settings(dataplane.settings).jobs.get("RUN1")["attempt"] == 1
