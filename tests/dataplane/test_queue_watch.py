"""The queue watch: the age of the oldest job waiting RUNNABLE in the run queues, which Batch itself
publishes nowhere, from jobs that wait for a host in the local endpoint's Batch."""

from __future__ import annotations

import json
import time

from batch_jobs import submit_job_of_run
from polling import wait_until

from seqpipe.handlers.registry import OLDEST_RUNNABLE_SECONDS

from .test_state_machine import metric_sum


def watch(dataplane) -> dict:
    """One scheduled invocation of the deployed queue watch."""
    response = dataplane.client("lambda").invoke(FunctionName="test-queue-watch", Payload=b"{}")
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


def test_the_queue_watch_publishes_the_age_of_the_oldest_job_waiting_for_a_host(dataplane, deploy_with):
    deployment = deploy_with()
    assert watch(dataplane) == {
        "queues": [deployment.head_queue, deployment.task_queue],
        "oldest_runnable_seconds": 0,  # nothing waits
    }

    # no host for head jobs (as with an exhausted vCPU quota): the job stays RUNNABLE
    batch = dataplane.client("batch")
    batch.update_compute_environment(computeEnvironment=deployment.head_compute_environment, state="DISABLED")
    submitted = time.time()
    waiting = submit_job_of_run(batch, deployment.head_queue, "RUN1", "waiting-head", ["sleep", "60"])
    wait_until(
        lambda: batch.describe_jobs(jobs=[waiting])["jobs"][0]["status"] == "RUNNABLE", what="RUNNABLE"
    )
    time.sleep(3)
    waited = watch(dataplane)["oldest_runnable_seconds"]

    assert 3 <= waited <= time.time() - submitted + 1
    # the metric the runnable-seconds alarm reads (the endpoint turns the function's EMF lines into it)
    wait_until(lambda: metric_sum(dataplane, OLDEST_RUNNABLE_SECONDS) == waited, what="the age published")
    batch.terminate_job(jobId=waiting, reason="test over")
