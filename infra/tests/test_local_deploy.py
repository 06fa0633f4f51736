"""The synthesized dev environment deployed through CloudFormation into the local endpoint (moto),
then a run started on the state machine CDK built, with the Lambdas from the CDK asset.

moto does not emulate some resource types in CloudFormation (bucket/queue/topic policies, alarms,
CloudTrail, Budgets, SNS subscriptions): it skips them with a warning. Their content is checked on
the template (test_security.py) instead. The Batch head job succeeds without running (moto's
docker-free Batch); the test writes the run's outputs the way the pipeline would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import requests
from seqpipe_infra import local_endpoint
from seqpipe_infra.iam_audit import audit_live
from seqpipe_infra.local_endpoint import LOCAL_ACCOUNT, LOCAL_REGION

from seqpipe.aws.repositories import Repositories
from seqpipe.aws.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DATAPLANE_DATA = REPO / "tests" / "dataplane" / "data"
# The data-plane tests' stand-in for the Snakemake head job: writes what the pipeline writes.
PIPELINE_OUTPUTS = REPO / "tests" / "dataplane" / "support" / "fake_workflow.py"


@pytest.fixture(scope="module")
def deployed(moto_endpoint: str, local_synthesis):
    requests.post(moto_endpoint + "/moto-api/reset", timeout=10)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "AWS_ENDPOINT_URL": moto_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": LOCAL_REGION,
        }.items():
            mp.setenv(key, value)
        config = local_synthesis.configs["dev"]
        # moto's CloudFormation creates no Cognito user pool, domain or client and no WAF web ACL, and
        # the dashboard's listener signs users in with that pool: the dashboard stack is left out here
        # and checked on its template (test_dashboard_stack.py). Its subnets and NAT (network stack)
        # are deployed.
        stacks = [
            stack
            for stack in local_endpoint.read_assembly(local_synthesis.outdir, config.prefix)
            if stack.name != f"{config.prefix}-dashboard"
        ]
        started = time.perf_counter()
        outputs = local_endpoint.deploy(stacks, LOCAL_ACCOUNT, LOCAL_REGION)
        yield {
            "config": config,
            "stacks": stacks,
            "outputs": outputs,
            "seconds": time.perf_counter() - started,
        }


def _client(service: str):
    return boto3.client(service, region_name=LOCAL_REGION)


def _output(deployed, stack: str, key: str) -> str:
    return deployed["outputs"][f"{deployed['config'].prefix}-{stack}"][key]


def test_every_stack_of_an_environment_is_created(deployed):
    statuses = {
        s["StackName"]: s["StackStatus"]
        for s in _client("cloudformation").describe_stacks()["Stacks"]
        if s["StackName"].startswith(deployed["config"].prefix)
    }
    assert statuses == {stack.name: "CREATE_COMPLETE" for stack in deployed["stacks"]}
    assert len(statuses) == 6


def test_lambdas_get_resource_names_and_no_secrets_in_their_environment(deployed):
    prefix = deployed["config"].prefix
    functions = {
        f["FunctionName"]: f
        for f in _client("lambda").list_functions()["Functions"]
        if f["FunctionName"].startswith(prefix)
    }
    assert sorted(functions) == sorted(
        f"{prefix}-{n}"
        for n in ("validation-handler", "vcf-processor", "quality-metrics", "metadata-updater")
    )
    for function in functions.values():
        variables = function["Environment"]["Variables"]
        assert variables["METADATA_TABLE"] == f"{prefix}-genomics-metadata"
        assert variables["RAW_BUCKET"] == _output(deployed, "storage", "RawBucketName")
        assert variables["ALERT_TOPIC_ARN"] == _output(deployed, "monitoring", "AlertTopicArn")
        assert not [
            k for k in variables if any(s in k for s in ("SECRET", "PASSWORD", "ACCESS_KEY", "TOKEN"))
        ]


def test_a_run_goes_through_the_deployed_state_machine_and_delivers(deployed):
    raw = _output(deployed, "storage", "RawBucketName")
    processed = _output(deployed, "storage", "ProcessedBucketName")
    delivery = _output(deployed, "storage", "DeliveryBucketName")
    s3 = _client("s3")
    key = "P1/RUN1/S1/reads_R1.fastq.gz"
    s3.upload_file(str(DATAPLANE_DATA / "reads_R1.fastq.gz"), raw, key)
    s3.put_object(
        Bucket=raw,
        Key="configs/RUN1.yaml",
        Body=b"qc:\n  thresholds:\n    mean_depth: {min: 10}\n    mapped_pct: {min: 90}\n",
    )
    # what the Snakemake head job would have written to s3://<processed>/runs/RUN1
    subprocess.run(
        [sys.executable, str(PIPELINE_OUTPUTS)],
        env={
            **os.environ,
            "SEQPIPE_OUTPUT_URI": f"s3://{processed}/runs/RUN1",
            "SAMPLES": "S1,S2",
            "LOW_DEPTH_SAMPLES": "S2",
        },
        check=True,
    )

    sfn = _client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=_output(deployed, "orchestration", "StateMachineArn"),
        name="RUN1",
        input=json.dumps(
            {
                "run_id": "RUN1",
                "project": "P1",
                "samples": ["S1", "S2"],
                "inputs": [f"s3://{raw}/{key}"],
                "config_uri": f"s3://{raw}/configs/RUN1.yaml",
            }
        ),
    )["executionArn"]
    deadline = time.monotonic() + 120
    while (execution := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution still running after 120 s"
        time.sleep(0.5)

    history = sfn.get_execution_history(executionArn=arn)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert execution["status"] == "SUCCEEDED", (execution, entered)
    assert entered == [
        "RecordRun",
        "IsDuplicate",
        "ValidateInputs",
        "MarkRunning",
        "RunWorkflow",
        "CollectQC",
        "Finalize",
        "Done",
    ]

    prefix = deployed["config"].prefix
    dynamodb = _client("dynamodb")
    job = dynamodb.get_item(TableName=f"{prefix}-processing-jobs", Key={"job_id": {"S": "RUN1"}})["Item"]
    assert job["status"]["S"] == "SUCCEEDED"
    qc = dynamodb.get_item(
        TableName=f"{prefix}-quality-metrics", Key={"sample": {"S": "S2"}, "run_id": {"S": "RUN1"}}
    )
    assert qc["Item"]["verdict"]["S"] == "FAIL"
    manifest = json.loads(s3.get_object(Bucket=delivery, Key="RUN1/manifest.json")["Body"].read())
    assert {f["sample"] for f in manifest["files"]} == {"S1"}
    batch = _client("batch")
    head_jobs = batch.list_jobs(jobQueue=_output(deployed, "batch", "HeadQueueArn"), jobStatus="SUCCEEDED")
    assert [j["jobName"] for j in head_jobs["jobSummaryList"]] == ["RUN1"]


def test_iam_audit_reads_the_deployed_roles_from_iam(deployed):
    config = deployed["config"]
    access = audit_live(config.prefix).access()
    processed = access[_output(deployed, "storage", "ProcessedBucketName")]
    head = [entry for name, entry in processed.items() if "HeadRole" in name]
    assert head and {"read", "write", "denied"} <= set(head[0])
    erasers = [
        name for name, entry in access[f"{config.prefix}-genomics-metadata"].items() if "erase" in entry
    ]
    assert len(erasers) == 1 and erasers[0].endswith(f"role/{config.prefix}/workflow/{config.prefix}-erasure")


def test_raw_uploads_are_validated_and_vcfs_processed_through_the_event_rules(deployed):
    """S3 Object Created → EventBridge (the deployed rules' patterns) → the deployed Lambdas."""
    config = deployed["config"]
    raw = _output(deployed, "storage", "RawBucketName")
    processed = _output(deployed, "storage", "ProcessedBucketName")
    s3 = _client("s3")
    for key, source in {
        "P1/RUN9/S9/reads_R1.fastq.gz": "reads_R1.fastq.gz",
        "P1/RUN9/S9/S9.vcf.gz": "NA12891.vcf.gz",
        "quarantine/P1/RUN9/S9/old.fastq.gz": "reads_R1.fastq.gz",  # excluded by the rule
    }.items():
        s3.upload_file(str(DATAPLANE_DATA / source), raw, key)

    metadata = Repositories.from_settings(
        Settings.from_env({"SEQPIPE_PREFIX": config.prefix, "RAW_BUCKET": raw, "PROCESSED_BUCKET": processed})
    ).metadata
    deadline = time.monotonic() + 60
    while len(files := metadata.files_of_sample("S9")) < 2 or not _keys(s3, processed, "vcf/"):
        assert time.monotonic() < deadline, f"after 60 s: files {files}, processed {_keys(s3, processed, '')}"
        time.sleep(0.5)
    assert sorted(f["uri"].rsplit("/", 1)[-1] for f in files) == ["S9.vcf.gz", "reads_R1.fastq.gz"]
    assert metadata.files_of_sample("RUN9") == []  # nothing under quarantine/ was picked up
    assert any(k.endswith(".norm.vcf.gz") for k in _keys(s3, processed, "vcf/"))


def _keys(s3, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
