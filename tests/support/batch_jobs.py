"""Batch jobs of a run, submitted the way the aws-batch executor submits a run's task jobs: each with a
job definition of its own (snakejob-def-<name>) whose environment carries the run id, by which
seqpipe.aws.run_jobs finds them. Used by the tests and by the data-plane tests' stand-in head job."""

from __future__ import annotations

from typing import Any

from seqpipe.aws.run_jobs import RUN_ID_VARIABLE


def submit_job_of_run(batch: Any, queue: str, run_id: str, name: str, command: list[str]) -> str:
    """Submit `snakejob-<name>` running `command` for run `run_id`; returns its job id."""
    definition = batch.register_job_definition(
        jobDefinitionName=f"snakejob-def-{name}",
        type="container",
        containerProperties={
            "image": "seqpipe:test",
            "vcpus": 1,
            "memory": 512,
            "command": command,
            "environment": [{"name": RUN_ID_VARIABLE, "value": run_id}],
        },
    )["jobDefinitionArn"]
    return batch.submit_job(jobName=f"snakejob-{name}", jobQueue=queue, jobDefinition=definition)["jobId"]
