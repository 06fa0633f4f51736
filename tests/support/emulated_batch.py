"""AWS Batch on loopback for the engine tests and the data-movement benchmark.

A moto server (moto_launch.py) whose Batch jobs run as local processes, each in an empty working
directory with its own access key, on emulated compute hosts that each have a reference cache
directory; in front of it the counting proxy (aws_proxy.py), through which the test or benchmark, the
head job and every Batch job talk to the endpoint. The proxy's log therefore holds every request of a
run, attributed to its job by the access key it is signed with.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_proxy import ProxyClient, running_proxy
from moto_server import CREDENTIALS, free_port, moto_server

LAUNCHER = Path(__file__).with_name("moto_launch.py")
# the access key a Batch job signs with (moto_launch.py): batch-h<host>-<job id>
JOB_KEY = re.compile(r"^batch-h(?P<host>\d+)-(?P<job>[0-9a-f-]{36})$")


@dataclass(frozen=True)
class BatchQueue:
    queue_arn: str
    job_role_arn: str


@dataclass(frozen=True)
class EmulatedBatch:
    endpoint: str  # the proxy: every client goes through it
    moto: str
    proxy: ProxyClient
    hosts: tuple[Path, ...]

    def environment(self) -> dict[str, str]:
        """What points boto3, Snakemake and the head job at the endpoint (through the proxy)."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": "us-east-1", **CREDENTIALS}


@contextmanager
def emulated_batch(
    workdir: Path, hosts: int = 2, environment: Mapping[str, str] | None = None
) -> Iterator[EmulatedBatch]:
    """Start the endpoint with ``hosts`` emulated compute hosts, and the proxy in front of it. Batch
    jobs inherit the endpoint's environment: this process's, updated with ``environment``."""
    host_dirs = tuple(workdir / f"host-{i}" for i in range(hosts))
    proxy_port = free_port()
    env = dict(
        os.environ,
        **(environment or {}),
        MOTO_BATCH_LOCAL_EXEC="1",
        MOTO_BATCH_HOSTS=":".join(str(h) for h in host_dirs),
        MOTO_BATCH_JOB_ENDPOINT=f"http://127.0.0.1:{proxy_port}",
    )
    with (
        moto_server(LAUNCHER, workdir / "moto.log", env) as moto,
        running_proxy(moto, workdir / "proxy.log", port=proxy_port) as proxy,
    ):
        yield EmulatedBatch(proxy.url, moto, proxy, host_dirs)


def create_batch_queue(iam: Any, batch: Any) -> BatchQueue:
    """A job queue whose jobs run as local processes (the 'container' is this machine with this venv)."""
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    job_role = iam.create_role(RoleName="seqpipe-test-task", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    service = iam.create_role(RoleName="seqpipe-test-batch", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    env = batch.create_compute_environment(
        computeEnvironmentName="seqpipe-test", type="UNMANAGED", state="ENABLED", serviceRole=service
    )
    queue = batch.create_job_queue(
        jobQueueName="seqpipe-test-tasks",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env["computeEnvironmentArn"]}],
    )
    return BatchQueue(queue["jobQueueArn"], job_role)


def upload_tree(s3: Any, local: Path, bucket: str, key_prefix: str) -> None:
    """Every file below ``local`` to ``key_prefix/<local's name>/...``."""
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, f"{key_prefix}/{path.relative_to(local.parent).as_posix()}")


def as_workflow_checkout(run_dir: Path) -> None:
    """Remote jobs get the sources Snakemake finds through git; the head job's directory is a
    checkout of the workflow with the run's config and sheets added."""
    sources = [p.name for p in run_dir.iterdir() if p.name not in ("data", ".snakemake")]
    subprocess.run(["git", "init", "-q", "."], cwd=run_dir, check=True)
    subprocess.run(["git", "add", *sources], cwd=run_dir, check=True)


def head_job_environment(
    queue: BatchQueue, run_id: str, config_uri: str, output_uri: str, workflow_dir: Path, timeout: int
) -> dict[str, str]:
    """What the head job definition, the state machine and the image set (infra/seqpipe_infra/
    batch_stack.py, docker/Dockerfile); the run directory stands in for the image's /opt/seqpipe."""
    return {
        "SNAKEMAKE_AWS_BATCH_JOB_QUEUE": queue.queue_arn,
        "SNAKEMAKE_AWS_BATCH_JOB_ROLE": queue.job_role_arn,
        "SEQPIPE_AWS_REGION": "us-east-1",
        "SEQPIPE_TASK_TIMEOUT_SECONDS": str(timeout),
        "SEQPIPE_CONTAINER_IMAGE": "seqpipe-pipeline:test",
        "SEQPIPE_RUN_ID": run_id,
        "SEQPIPE_CONFIG_URI": config_uri,
        "SEQPIPE_OUTPUT_URI": output_uri,
        "SEQPIPE_WORKFLOW_DIR": str(workflow_dir),
        "SEQPIPE_JOB_DEFINITION_PREFIX": "seqpipe-test",
    }


@dataclass(frozen=True)
class BatchJob:
    """A Batch job of a run, as the endpoint describes it."""

    job_id: str
    name: str
    status: str
    # (rule, wildcards) of every Snakemake job in it; a job is known by its id (hashable: sets of jobs)
    targets: tuple[tuple[str, dict[str, str]], ...] = field(compare=False)

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(sorted({rule for rule, _ in self.targets}))


def targets_of(command: str) -> tuple[tuple[str, dict[str, str]], ...]:
    """The Snakemake jobs a Batch job's command runs (its --target-jobs rule:wc=v,... arguments)."""
    words = shlex.split(command)
    if "--target-jobs" not in words:
        return ()
    specs = itertools.takewhile(lambda w: not w.startswith("--"), words[words.index("--target-jobs") + 1 :])
    targets = []
    for spec in specs:
        rule, _, wildcards = spec.partition(":")
        targets.append((rule, dict(w.split("=", 1) for w in wildcards.split(",") if w)))
    return tuple(targets)


def batch_jobs(batch: Any, queue_arn: str) -> list[BatchJob]:
    """Every job the run submitted to the queue, finished or not."""
    ids = [
        summary["jobId"]
        for status in ("SUCCEEDED", "FAILED", "RUNNING", "RUNNABLE", "SUBMITTED")
        for summary in batch.list_jobs(jobQueue=queue_arn, jobStatus=status)["jobSummaryList"]
    ]
    jobs = []
    for start in range(0, len(ids), 100):
        for job in batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]:
            command = job["container"]["command"][-1]  # /bin/bash -c COMMAND
            jobs.append(BatchJob(job["jobId"], job["jobName"], job["status"], targets_of(command)))
    return jobs
