"""One S3 event delivered a hundred times at once (EventBridge delivers at least once, and Lambda runs
each delivery in its own process): one file record, one validation, one validation task."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seqpipe.aws.ingest import IN_PROGRESS, VALIDATION_KIND
from seqpipe.aws.repositories import Repositories
from seqpipe.handlers import validation_handler

from .support.deliveries import deliver_concurrently
from .support.lambda_context import LambdaContext
from .support.s3_events import object_created

pytestmark = pytest.mark.aws
DATA = Path(__file__).resolve().parent / "data"
HANDLER = "seqpipe.handlers.validation_handler.handler"
DELIVERIES = 100


def upload(dataplane, name: str, key: str) -> dict:
    s3, bucket = dataplane.client("s3"), dataplane.settings.raw_bucket
    s3.upload_file(str(DATA / name), bucket, key)
    head = s3.head_object(Bucket=bucket, Key=key)
    return object_created(bucket, key, head["ContentLength"], head["ETag"].strip('"'))


def requests_to(proxy, bucket: str, key: str, operation: str) -> int:
    return sum(1 for r in proxy.requests() if r.path == f"/{bucket}/{key}" and r.operation == operation)


@pytest.mark.parametrize(("name", "status"), [("ok.bam", "VALID"), ("badeof.bam", "QUARANTINED")])
def test_a_hundred_concurrent_deliveries_validate_and_record_the_object_once(
    dataplane, aws_via_proxy, name, status
):
    bucket = dataplane.settings.raw_bucket
    # what one validation of these bytes reads and tags, delivered once (another sample, another key)
    control = upload(dataplane, name, "P1/RUN1/S0/S0.bam")
    validation_handler.handler(control, LambdaContext("control"))
    reads = requests_to(aws_via_proxy, bucket, "P1/RUN1/S0/S0.bam", "GetObject")
    tags = requests_to(aws_via_proxy, bucket, "P1/RUN1/S0/S0.bam", "PutObjectTagging")
    assert reads > 0 and tags == (status == "QUARANTINED")

    event = upload(dataplane, name, "P1/RUN1/S1/S1.bam")
    deliveries = deliver_concurrently(HANDLER, event, dict(os.environ), DELIVERIES)

    # a hundred processes, let go together once all were up
    assert len({d.request_id for d in deliveries}) == DELIVERIES
    assert [d.message for d in deliveries if d.error] == []
    outcomes = [d.outcome for d in deliveries]
    assert sum(o["created"] for o in outcomes) == 1
    # the others answered with the record, or, while the first was at it, as duplicates in progress
    assert {o["status"] for o in outcomes} <= {status, IN_PROGRESS}
    in_progress = sum(o["status"] == IN_PROGRESS for o in outcomes)
    later = validation_handler.handler(event, LambdaContext("later"))
    assert (later["created"], later["status"]) == (False, status)

    repos = Repositories.from_settings(dataplane.settings)
    [record] = repos.metadata.files_of_sample("S1")
    assert (record["status"], record["etag"]) == (status, event["detail"]["object"]["etag"])
    [task] = [j for j in repos.jobs.of_sample("S1") if j["kind"] == VALIDATION_KIND]
    assert (task["status"], task["outcome"], task["created"]) == ("SUCCEEDED", status, True)
    # the object was read and tagged as often as by one validation
    assert requests_to(aws_via_proxy, bucket, "P1/RUN1/S1/S1.bam", "GetObject") == reads
    assert requests_to(aws_via_proxy, bucket, "P1/RUN1/S1/S1.bam", "PutObjectTagging") == tags
    print(
        f"\nfigures: {DELIVERIES} concurrent deliveries of {name}: {in_progress} found it being validated"
        f" (duplicates in progress); 1 validation ({reads} reads), 1 record, 1 task; duplicates recorded: 0"
    )
