"""S3 events arrive in any order (EventBridge keeps none): whatever the order, the file record ends
up describing the object the key holds at the end, and only an invalid version carries the
quarantine tag. The raw bucket is versioned, as deployed, so the events name their object version."""

from __future__ import annotations

from itertools import permutations
from pathlib import Path

import pytest

from seqpipe.aws.ingest import SUPERSEDED, VALIDATION_KIND
from seqpipe.aws.quarantine import QUARANTINE_TAG
from seqpipe.aws.repositories import Repositories
from seqpipe.handlers import validation_handler

from .support.lambda_context import LambdaContext
from .support.s3_events import object_created

pytestmark = pytest.mark.aws
DATA = Path(__file__).resolve().parent / "data"
KEY = "P1/RUN1/S1/S1.bam"
VERDICT = {"ok.bam": "VALID", "badeof.bam": "QUARANTINED"}


@pytest.fixture
def raw(dataplane):
    dataplane.client("s3").put_bucket_versioning(
        Bucket=dataplane.settings.raw_bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    return dataplane


def put(dataplane, name: str) -> dict:
    """Upload a test file to KEY; the event S3 sends for it."""
    s3, bucket = dataplane.client("s3"), dataplane.settings.raw_bucket
    response = s3.put_object(Bucket=bucket, Key=KEY, Body=(DATA / name).read_bytes())
    etag = response["ETag"].strip('"')
    return object_created(bucket, KEY, (DATA / name).stat().st_size, etag, version_id=response["VersionId"])


def deliver(event: dict, request_id: str) -> dict:
    return validation_handler.handler(event, LambdaContext(request_id))


def tagged(dataplane, version_id: str) -> bool:
    tags = dataplane.client("s3").get_object_tagging(
        Bucket=dataplane.settings.raw_bucket, Key=KEY, VersionId=version_id
    )["TagSet"]
    return any(t["Key"] == QUARANTINE_TAG for t in tags)


def validation_tasks(dataplane) -> list[dict]:
    jobs = Repositories.from_settings(dataplane.settings).jobs.of_sample("S1")
    return [j for j in jobs if j["kind"] == VALIDATION_KIND]


@pytest.mark.parametrize("order", list(permutations((0, 1))), ids=["in order", "reversed"])
@pytest.mark.parametrize(("first", "final"), [("ok.bam", "badeof.bam"), ("badeof.bam", "ok.bam")])
def test_an_overwritten_object_ends_with_the_record_and_tag_of_the_final_upload(raw, first, final, order):
    earlier = put(raw, first)
    assert deliver(earlier, "first")["status"] == VERDICT[first]
    later = put(raw, final)
    events = (earlier, later)

    # the earlier upload's event is delivered again (at least once), before or after the later one's
    outcomes = [deliver(events[i], f"again-{i}") for i in order]

    [record] = Repositories.from_settings(raw.settings).metadata.files_of_sample("S1")
    final_object = later["detail"]["object"]
    assert (record["etag"], record["version_id"], record["status"]) == (
        final_object["etag"],
        final_object["version-id"],
        VERDICT[final],
    )
    # the earlier event answers with its verdict until the later upload is recorded, then "superseded"
    earlier_outcome = VERDICT[first] if order == (0, 1) else SUPERSEDED
    assert [o["status"] for o in outcomes] == [VERDICT[final] if i else earlier_outcome for i in order]
    # the tag is on the invalid version only, never on the one that replaced it
    assert tagged(raw, final_object["version-id"]) == (final == "badeof.bam")
    assert tagged(raw, earlier["detail"]["object"]["version-id"]) == (first == "badeof.bam")
    assert sorted(t["outcome"] for t in validation_tasks(raw)) == sorted((VERDICT[first], VERDICT[final]))


@pytest.mark.parametrize("order", list(permutations((0, 1))), ids=["in order", "reversed"])
def test_an_object_replaced_before_its_first_event_arrives_is_recorded_once_as_the_final_upload(raw, order):
    events = (put(raw, "ok.bam"), put(raw, "badeof.bam"))

    outcomes = [deliver(events[i], f"delivery-{i}") for i in order]

    [record] = Repositories.from_settings(raw.settings).metadata.files_of_sample("S1")
    assert (record["etag"], record["status"]) == (events[1]["detail"]["object"]["etag"], "QUARANTINED")
    # the first upload's event finds its object replaced: it records nothing and validates nothing
    assert [o["status"] for o in outcomes] == ["QUARANTINED" if i else SUPERSEDED for i in order]
    assert not tagged(raw, events[0]["detail"]["object"]["version-id"])
    assert tagged(raw, events[1]["detail"]["object"]["version-id"])


def test_an_object_deleted_before_its_event_arrives_leaves_no_record(raw):
    event = put(raw, "ok.bam")
    raw.client("s3").delete_object(Bucket=raw.settings.raw_bucket, Key=KEY)

    outcome = deliver(event, "late")
    again = deliver(event, "late-again")

    assert (outcome["created"], outcome["status"], again["status"]) == (False, SUPERSEDED, SUPERSEDED)
    assert Repositories.from_settings(raw.settings).metadata.files_of_sample("S1") == []
    [task] = validation_tasks(raw)
    assert (task["status"], task["outcome"]) == ("SUCCEEDED", SUPERSEDED)


def test_a_late_event_of_an_earlier_upload_of_the_same_bytes_leaves_the_final_version_recorded(raw):
    # the key holds the first bytes again at the end: only the sequencer tells the events apart
    events = [put(raw, name) for name in ("ok.bam", "badeof.bam", "ok.bam")]
    assert events[0]["detail"]["object"]["etag"] == events[2]["detail"]["object"]["etag"]

    outcomes = [deliver(events[i], f"delivery-{i}") for i in (2, 0, 1)]

    assert [o["status"] for o in outcomes] == ["VALID", "VALID", SUPERSEDED]
    assert [o["created"] for o in outcomes] == [True, False, False]
    [record] = Repositories.from_settings(raw.settings).metadata.files_of_sample("S1")
    assert (record["version_id"], record["status"]) == (events[2]["detail"]["object"]["version-id"], "VALID")
    assert not any(tagged(raw, e["detail"]["object"]["version-id"]) for e in events)
