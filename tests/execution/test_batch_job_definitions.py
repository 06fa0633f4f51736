"""The aws-batch executor's task job definitions as Batch registers them, against the local endpoint:
the plugin's own builder asks for a privileged container named snakejob-def-*; with seqpipe's guard
on the session the definition is registered non-privileged under the deployment's prefix, and
submitted under that name."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import boto3
import pytest
from snakemake_executor_plugin_aws_batch.batch_client import BatchClient
from snakemake_executor_plugin_aws_batch.batch_job_builder import BatchJobBuilder

from seqpipe.execution.batch import guard_task_job_definitions

pytestmark = pytest.mark.aws


def _builder(client: BatchClient, queue: str, role: str) -> BatchJobBuilder:
    """The plugin's builder for one job of rule align_reads (2 vCPUs, 4096 MiB) that does nothing."""
    return BatchJobBuilder(
        logger=SimpleNamespace(warning=print),
        job=SimpleNamespace(name="align_reads", resources={"_cores": 2, "mem_mb": 4096}),
        envvars={"SEQPIPE_RUN_ID": "run-1"},
        container_image="seqpipe-pipeline:test",
        settings=SimpleNamespace(job_role=role, job_queue=queue, task_timeout=900, tags=None),
        job_command="true",
        batch_client=client,
    )


def _plugin_client(session: boto3.Session) -> BatchClient:
    client = BatchClient(region_name="us-east-1")
    client.client = session.client("batch", region_name="us-east-1")  # the session under test
    return client


def test_task_job_definitions_are_registered_non_privileged_under_the_prefix(
    aws: Callable, batch_queue
) -> None:
    batch = aws("batch")
    plain, guarded = boto3.Session(), boto3.Session()
    guard_task_job_definitions("seqpipe-test", guarded)
    guard_task_job_definitions("seqpipe-test", guarded)  # the profile may load twice: one rewrite

    queue, role = batch_queue.queue_arn, batch_queue.job_role_arn
    _builder(_plugin_client(plain), queue, role).build_job_definition()
    submitted = _builder(_plugin_client(guarded), queue, role).submit()

    definitions = {d["jobDefinitionName"]: d for d in batch.describe_job_definitions()["jobDefinitions"]}
    (unguarded,) = [n for n in definitions if n.startswith("snakejob-def-align_reads-")]
    assert definitions[unguarded]["containerProperties"]["privileged"] is True  # what the plugin asks
    (ours,) = [n for n in definitions if n.startswith("seqpipe-test-snakejob-def-align_reads-")]
    container = definitions[ours]["containerProperties"]
    assert container["privileged"] is False
    assert container["image"] == "seqpipe-pipeline:test" and container["jobRoleArn"] == role
    (job,) = batch.describe_jobs(jobs=[submitted["jobId"]])["jobs"]
    assert job["jobDefinition"] == definitions[ours]["jobDefinitionArn"]
