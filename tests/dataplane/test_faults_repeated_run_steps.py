"""A run's bookkeeping steps done again, as faults make them happen: the finalize handler killed
(SIGKILL, as Lambda stops an invocation at its time limit) after it settled the samples and before
the run's SUCCEEDED, then retried; a finalize retried after it succeeded (its answer lost); a start
killed between the run record and its sample claims, delivered again; and two runs of one sample
ending in either order. Each converges: one verdict per sample, from the run that holds it, the run
SUCCEEDED once, nothing failing on the second writer. The kill falls where the proxy holds the write."""

from __future__ import annotations

import signal

import pytest
from aws_proxy import FaultRule

from seqpipe.aws import runs
from seqpipe.aws.layout import run_output_uri
from seqpipe.aws.repositories import Repositories
from seqpipe.aws.transitions import JobStatus, SampleStatus
from seqpipe.handlers import metadata_updater

from .support.deliveries import kill_at_held_write
from .support.lambda_context import LambdaContext

pytestmark = pytest.mark.aws
HANDLER = "seqpipe.handlers.metadata_updater.handler"
DELIVERABLES = ("cram/S1.cram", "cram/S1.cram.crai", "vcf/S1.bcftools.vcf.gz")


def running_run(dataplane, run_id: str, samples: list[str]) -> str:
    """A RUNNING run of `samples` with S1's deliverables in its output; returns the output URI."""
    repos = Repositories.from_settings(dataplane.settings)
    runs.record_run(repos, run_id, "P1", samples)
    runs.transition(repos, run_id, JobStatus.RUNNING)
    output_uri = run_output_uri(dataplane.settings.processed_bucket, run_id)
    prefix = output_uri.removeprefix(f"s3://{dataplane.settings.processed_bucket}/")
    for name in DELIVERABLES:
        dataplane.client("s3").put_object(
            Bucket=dataplane.settings.processed_bucket, Key=f"{prefix}/{name}", Body=name.encode()
        )
    return output_uri


def finalize_event(dataplane, run_id: str, output_uri: str, approved: list[str]) -> dict:
    return {
        "action": "finalize",
        "run_id": run_id,
        "output_uri": output_uri,
        "approved": approved,
        "delivery_bucket": dataplane.settings.delivery_bucket,
    }


def delivered(dataplane, run_id: str) -> list[str]:
    s3 = dataplane.client("s3")
    listed = s3.list_objects_v2(Bucket=dataplane.settings.delivery_bucket, Prefix=f"{run_id}/")
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_a_finalize_killed_before_the_run_succeeded_finishes_when_retried(
    dataplane, aws_via_proxy, lambda_context
):
    repos = Repositories.from_settings(dataplane.settings)
    output_uri = running_run(dataplane, "RUN1", ["S1", "S2"])
    event = finalize_event(dataplane, "RUN1", output_uri, ["S1"])
    # the writes before the run's: S1 and S2 settled, S1 delivered; the fourth UpdateItem is the run's
    held = FaultRule("dynamodb", "UpdateItem", after=3, limit=1, hold=300)
    exit_code = kill_at_held_write(aws_via_proxy, held, HANDLER, event, LambdaContext("invocation-1"))

    assert exit_code == -signal.SIGKILL
    assert repos.jobs.get("RUN1")["status"] == JobStatus.RUNNING
    assert repos.metadata.get_sample("S1")["status"] == SampleStatus.DELIVERED
    once = delivered(dataplane, "RUN1")

    outcome = metadata_updater.handler(event, lambda_context)  # Step Functions' retry

    assert outcome["status"] == JobStatus.SUCCEEDED and outcome["delivery"]["files"] == len(DELIVERABLES)
    assert repos.jobs.get("RUN1")["status"] == JobStatus.SUCCEEDED
    assert repos.metadata.get_sample("S1")["status"] == SampleStatus.DELIVERED
    assert repos.metadata.get_sample("S2")["status"] == SampleStatus.QC_FAILED
    assert delivered(dataplane, "RUN1") == once  # the same keys, none added


def test_a_finalize_retried_after_it_succeeded_answers_the_same_and_writes_nothing(dataplane, lambda_context):
    repos = Repositories.from_settings(dataplane.settings)
    event = finalize_event(dataplane, "RUN1", running_run(dataplane, "RUN1", ["S1"]), ["S1"])
    first = metadata_updater.handler(event, lambda_context)
    versions = (repos.jobs.get("RUN1")["version"], repos.metadata.get_sample("S1")["version"])

    again = metadata_updater.handler(event, lambda_context)

    assert again == first
    assert (repos.jobs.get("RUN1")["version"], repos.metadata.get_sample("S1")["version"]) == versions


def test_a_start_killed_before_it_claimed_its_samples_claims_them_when_delivered_again(
    dataplane, aws_via_proxy, lambda_context
):
    repos = Repositories.from_settings(dataplane.settings)
    event = {"action": "record_run", "run_id": "RUN1", "project": "P1", "samples": ["S1"]}
    # the run's record is the first UpdateItem; the sample's claim the second
    held = FaultRule("dynamodb", "UpdateItem", after=1, limit=1, hold=300)
    exit_code = kill_at_held_write(aws_via_proxy, held, HANDLER, event, LambdaContext("invocation-1"))
    assert exit_code == -signal.SIGKILL
    assert repos.jobs.get("RUN1")["status"] == JobStatus.SUBMITTED
    assert repos.metadata.get_sample("S1")["status"] == SampleStatus.REGISTERED

    outcome = metadata_updater.handler(event, lambda_context)

    assert outcome["created"] is False and outcome["attempt"] == 1
    sample = repos.metadata.get_sample("S1")
    assert (sample["status"], sample["run_id"]) == (SampleStatus.PROCESSING, "RUN1")


@pytest.mark.parametrize("first_to_end", ["RUN1", "RUN2"])
def test_two_runs_of_one_sample_leave_the_verdict_of_the_run_that_claimed_it_last(
    dataplane, lambda_context, first_to_end
):
    repos = Repositories.from_settings(dataplane.settings)
    outputs = {run_id: running_run(dataplane, run_id, ["S1"]) for run_id in ("RUN1", "RUN2")}
    verdicts = {"RUN1": ["S1"], "RUN2": []}  # RUN1 passes S1, RUN2 fails it
    order = [first_to_end, *({"RUN1", "RUN2"} - {first_to_end})]

    for run_id in order:
        event = finalize_event(dataplane, run_id, outputs[run_id], verdicts[run_id])
        assert metadata_updater.handler(event, lambda_context)["status"] == JobStatus.SUCCEEDED

    sample = repos.metadata.get_sample("S1")
    assert (sample["status"], sample["run_id"]) == (SampleStatus.QC_FAILED, "RUN2")
    assert delivered(dataplane, "RUN2") == []
