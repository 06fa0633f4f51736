"""Data-plane fixtures: tables, buckets and topic in the local endpoint; the Lambdas, the state machine
and the rule that sends its failed, timed-out and aborted executions to the run cleanup, deployed there
from the package (the same zip, definition, retry strategy and event pattern the CDK app uses)."""

from __future__ import annotations

import io
import json
import sys
import time
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from seqpipe.aws.settings import Settings
from seqpipe.aws.tables import create_tables
from seqpipe.handlers.registry import HANDLERS, JOB_QUEUE_READERS
from seqpipe.orchestration.state_machine import (
    RetryPolicy,
    StateMachineRefs,
    build_definition,
    head_job_retry_strategy,
    run_ended_pattern,
)

from .support.lambda_context import LambdaContext

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
PACKAGE = HERE.parents[1] / "src" / "seqpipe"
FAKE_WORKFLOW = HERE / "support" / "fake_workflow.py"
HEAD_JOB_ATTEMPTS = 2
TEST_RETRY = RetryPolicy(interval_seconds=1, max_attempts=1, backoff_rate=1.0)


RUN_INFO = """<?xml version="1.0"?>
<RunInfo Version="2"><Run Id="240101_M00001_0001_000000000-ABCDE" Number="1">
<Flowcell>000000000-ABCDE</Flowcell><Instrument>M00001</Instrument><Date>240101</Date>
<Reads><Read Number="1" NumCycles="3" IsIndexedRead="N"/>
<Read Number="2" NumCycles="2" IsIndexedRead="Y"/></Reads>
<FlowcellLayout LaneCount="1" SurfaceCount="1" SwathCount="1" TileCount="1"/></Run></RunInfo>
"""


def _make_run_folder(root: Path, cycles: int, complete: bool) -> Path:
    """A minimal Illumina run folder: RunInfo.xml (5 cycles, 1 lane), `cycles` cycle folders."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "RunInfo.xml").write_text(RUN_INFO)
    if complete:
        (root / "RTAComplete.txt").write_text("done")
    for cycle in range(1, cycles + 1):
        folder = root / "Data" / "Intensities" / "BaseCalls" / "L001" / f"C{cycle}.1"
        folder.mkdir(parents=True)
        (folder / "s_1_1101.bcl.gz").write_bytes(b"")
    return root


@pytest.fixture
def make_run_folder():
    return _make_run_folder


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@dataclass
class DataPlane:
    settings: Settings
    client: Any  # service name -> boto3 client
    alerts_queue_url: str

    def alerts(self) -> list[dict]:
        sqs = self.client("sqs")
        messages = sqs.receive_message(QueueUrl=self.alerts_queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        return [json.loads(m["Body"]) for m in messages]


@pytest.fixture
def dataplane(aws, monkeypatch: pytest.MonkeyPatch) -> DataPlane:
    settings = Settings.from_env({"SEQPIPE_PREFIX": "test"})
    create_tables(aws("dynamodb"), settings.table_names())
    s3 = aws("s3")
    for bucket in (settings.raw_bucket, settings.processed_bucket, settings.delivery_bucket):
        s3.create_bucket(Bucket=bucket)
    topic = aws("sns").create_topic(Name="test-alerts")["TopicArn"]
    queue_url = aws("sqs").create_queue(QueueName="test-alerts")["QueueUrl"]
    queue_arn = aws("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    aws("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    settings = Settings.from_env({"SEQPIPE_PREFIX": "test", "ALERT_TOPIC_ARN": topic})
    for key, value in settings.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "seqpipe")
    return DataPlane(settings, aws, queue_url)


@pytest.fixture(scope="session")
def lambda_zip() -> bytes:
    """src/seqpipe as the Lambda asset (the launcher runs it with this venv's packages)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(PACKAGE.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, Path("seqpipe") / path.relative_to(PACKAGE))
    return buffer.getvalue()


@dataclass
class Deployment:
    plane: DataPlane
    refs: StateMachineRefs
    state_machine_arn: str
    head_queue: str
    task_queue: str
    head_compute_environment: str

    def run_input(self, run_id: str, samples: list[str], inputs: list[str]) -> dict[str, Any]:
        """The execution input of a run, with a run config (QC thresholds) in the raw bucket."""
        config_key = f"configs/{run_id}.yaml"
        self.plane.client("s3").put_object(
            Bucket=self.plane.settings.raw_bucket,
            Key=config_key,
            Body=b"qc:\n  thresholds:\n    mean_depth: {min: 10}\n    mapped_pct: {min: 90}\n",
        )
        return {
            "run_id": run_id,
            "project": "P1",
            "samples": samples,
            "inputs": inputs,
            "config_uri": f"s3://{self.plane.settings.raw_bucket}/{config_key}",
        }

    def start(self, run_id: str, samples: list[str], inputs: list[str], name: str | None = None) -> str:
        kwargs = {"name": name} if name else {}
        return self.plane.client("stepfunctions").start_execution(
            stateMachineArn=self.state_machine_arn,
            input=json.dumps(self.run_input(run_id, samples, inputs)),
            **kwargs,
        )["executionArn"]

    def wait(self, execution_arn: str, timeout: float = 120) -> dict:
        sfn = self.plane.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            execution = sfn.describe_execution(executionArn=execution_arn)
            if execution["status"] != "RUNNING":
                return execution
            time.sleep(0.5)
        raise AssertionError(f"execution still running after {timeout} s")

    def history(self, execution_arn: str) -> list[dict]:
        return self.plane.client("stepfunctions").get_execution_history(executionArn=execution_arn)["events"]

    def entered(self, execution_arn: str) -> list[str]:
        """The states the execution entered, in order."""
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history(execution_arn)
            if "stateEnteredEventDetails" in e
        ]

    def jobs(self, queue: str) -> list[dict]:
        """Every job of a queue, described, oldest first."""
        batch = self.plane.client("batch")
        ids = [
            j["jobId"]
            for status in ("SUBMITTED", "RUNNABLE", "RUNNING", "SUCCEEDED", "FAILED")
            for j in batch.list_jobs(jobQueue=queue, jobStatus=status)["jobSummaryList"]
        ]
        described = batch.describe_jobs(jobs=ids)["jobs"] if ids else []
        return sorted(described, key=lambda j: j["createdAt"])


def deploy(
    plane: DataPlane,
    lambda_zip: bytes,
    job_environment: dict[str, str],
    retry: RetryPolicy = TEST_RETRY,
    **limits: int,
) -> Deployment:
    """`limits`: StateMachineRefs' workflow_timeout_seconds / timeout_seconds for this deployment;
    `retry`: its service_retry."""
    aws, settings = plane.client, plane.settings
    role = aws("iam").create_role(
        RoleName="test-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    batch = aws("batch")
    queues = {}
    for name in ("head", "tasks"):
        environment = batch.create_compute_environment(
            computeEnvironmentName=f"test-{name}", type="UNMANAGED", state="ENABLED", serviceRole=role
        )["computeEnvironmentArn"]
        queues[name] = batch.create_job_queue(
            jobQueueName=f"test-{name}",
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
        )["jobQueueArn"]
        queues[f"{name}-environment"] = environment
    functions = {}
    for name, handler in HANDLERS.items():
        # as in the CDK app: the names of Settings, and the job queues for the functions that read them
        function_settings = settings
        if name in JOB_QUEUE_READERS:
            function_settings = replace(settings, job_queues=(queues["head"], queues["tasks"]))
        functions[name] = aws("lambda").create_function(
            FunctionName=f"test-{name}",
            Runtime="python3.11",
            Role=role,
            Handler=handler,
            Code={"ZipFile": lambda_zip},
            Timeout=120,
            Environment={
                "Variables": {**function_settings.environment(), "POWERTOOLS_METRICS_NAMESPACE": "seqpipe"}
            },
        )["FunctionArn"]
    definition = batch.register_job_definition(
        jobDefinitionName="test-head-job",
        type="container",
        retryStrategy=head_job_retry_strategy(HEAD_JOB_ATTEMPTS),
        containerProperties={
            "image": "seqpipe:test",
            "vcpus": 1,
            "memory": 512,
            "command": [sys.executable, str(FAKE_WORKFLOW)],
            "environment": [
                {"name": k, "value": v}
                for k, v in {**job_environment, "SNAKEMAKE_AWS_BATCH_JOB_QUEUE": queues["tasks"]}.items()
            ],
        },
    )["jobDefinitionArn"]
    refs = StateMachineRefs(
        validation_function_arn=functions["validation-handler"],
        quality_metrics_function_arn=functions["quality-metrics"],
        metadata_updater_function_arn=functions["metadata-updater"],
        jobs_table=settings.jobs_table,
        job_queue_arn=queues["head"],
        job_definition_arn=definition,
        alert_topic_arn=settings.alert_topic_arn or "",
        processed_bucket=settings.processed_bucket,
        delivery_bucket=settings.delivery_bucket,
        service_retry=retry,
        **limits,
    )
    arn = aws("stepfunctions").create_state_machine(
        name="test-run", definition=json.dumps(build_definition(refs)), roleArn=role
    )["stateMachineArn"]
    events = aws("events")
    events.put_rule(Name="test-run-ended", EventPattern=json.dumps(run_ended_pattern(arn)))
    events.put_targets(Rule="test-run-ended", Targets=[{"Id": "cleanup", "Arn": functions["run-cleanup"]}])
    return Deployment(plane, refs, arn, queues["head"], queues["tasks"], queues["head-environment"])


@pytest.fixture
def deploy_with(dataplane: DataPlane, lambda_zip: bytes):
    """deploy_with(SAMPLES="S1,S2", ...) → a Deployment whose head job gets that environment;
    deploy_with(limits={"workflow_timeout_seconds": 4}, ...) also sets the state machine's limits,
    deploy_with(retry=RetryPolicy(...), ...) its retry policy."""

    def deploy_run(
        limits: dict[str, int] | None = None, retry: RetryPolicy = TEST_RETRY, **job_environment: str
    ) -> Deployment:
        return deploy(dataplane, lambda_zip, job_environment, retry, **(limits or {}))

    return deploy_run
