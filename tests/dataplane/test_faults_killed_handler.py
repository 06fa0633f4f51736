"""A validation handler killed (SIGKILL, as Lambda stops an invocation at its time limit or a host
goes away) after it tagged the object and while a DynamoDB write was on the wire, then delivered
again: the state converges on one record, one settled task, one tag. The proxy holds the write
unanswered (it never reaches the endpoint) so the kill falls exactly there."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from aws_proxy import FaultRule

from seqpipe.aws.ingest import IN_PROGRESS, VALIDATION_KIND
from seqpipe.aws.quarantine import quarantine_reason
from seqpipe.aws.repositories import Repositories
from seqpipe.handlers import validation_handler
from seqpipe.storage.s3 import S3Uri

from .support.deliveries import kill_at_held_write
from .support.lambda_context import LambdaContext
from .support.s3_events import object_created

pytestmark = pytest.mark.aws
DATA = Path(__file__).resolve().parent / "data"
HANDLER = "seqpipe.handlers.validation_handler.handler"
KEY = "P1/RUN1/S1/S1.bam"
TIMEOUT = 8.0  # the killed invocation's time limit: its hold on the validation ends then

# The DynamoDB writes after the tag, in order: the sample (PutItem; the claim is the first PutItem),
# its run membership, the file record, then the task settled (UpdateItem).
KILL_POINTS = {
    "sample": FaultRule(service="dynamodb", operation="PutItem", after=1),
    "file record": FaultRule(service="dynamodb", operation="PutItem", after=3),
    "task settled": FaultRule(service="dynamodb", operation="UpdateItem"),
}


@pytest.mark.parametrize("redelivery", ["the same invocation retried", "another delivery"])
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_handler_killed_between_its_tag_and_its_dynamodb_write_converges_when_delivered_again(
    dataplane, aws_via_proxy, point, redelivery
):
    s3, bucket = dataplane.client("s3"), dataplane.settings.raw_bucket
    s3.upload_file(str(DATA / "badeof.bam"), bucket, KEY)
    etag = s3.head_object(Bucket=bucket, Key=KEY)["ETag"].strip('"')
    event = object_created(bucket, KEY, (DATA / "badeof.bam").stat().st_size, etag)
    repos = Repositories.from_settings(dataplane.settings)

    rule = KILL_POINTS[point]
    held = FaultRule(rule.service, rule.operation, after=rule.after, limit=1, hold=300)
    invocation = LambdaContext("invocation-1", timeout_seconds=TIMEOUT)
    exit_code = kill_at_held_write(aws_via_proxy, held, HANDLER, event, invocation)

    assert exit_code == -signal.SIGKILL
    # killed after the tag, before the held write
    assert "BGZF EOF block missing" in quarantine_reason(S3Uri(bucket, KEY))
    [task] = [j for j in repos.jobs.of_sample("S1") if j["kind"] == VALIDATION_KIND]
    assert (task["status"], task["holder"]) == ("RUNNING", "invocation-1")
    assert len(repos.metadata.files_of_sample("S1")) == (point == "task settled")

    if redelivery == "another delivery":
        # another delivery is a duplicate while the killed invocation's time could still run
        assert validation_handler.handler(event, LambdaContext("delivery-2"))["status"] == IN_PROGRESS
        assert repos.jobs.get(task["job_id"])["holder"] == "invocation-1"
        time.sleep(max(0.0, invocation.started + TIMEOUT - time.time()) + 0.5)
        outcome = validation_handler.handler(event, LambdaContext("delivery-3"))
    else:
        # Lambda retries a failed invocation under the same request id: it takes over at once
        outcome = validation_handler.handler(event, LambdaContext("invocation-1"))

    assert outcome["status"] == "QUARANTINED"
    assert outcome["created"] == (point != "task settled")
    [record] = repos.metadata.files_of_sample("S1")
    assert (record["status"], record["etag"]) == ("QUARANTINED", etag)
    [task] = [j for j in repos.jobs.of_sample("S1") if j["kind"] == VALIDATION_KIND]
    assert (task["status"], task["outcome"]) == ("SUCCEEDED", "QUARANTINED")
    assert [s["sample"] for s in repos.metadata.samples_of_run("RUN1")] == ["S1"]
    assert "BGZF EOF block missing" in quarantine_reason(S3Uri(bucket, KEY))
    held = [r for r in aws_via_proxy.requests() if r.fault == "hold"]
    assert [(r.service, r.operation) for r in held] == [(rule.service, rule.operation)]
