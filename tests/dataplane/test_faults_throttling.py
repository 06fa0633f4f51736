"""The handlers with a fifth of their requests to S3 and DynamoDB answered by throttling and server
errors (the fault-injecting proxy on loopback, seeded): the SDK's retries absorb them, every event
delivered twice is recorded once, and nothing is lost or doubled."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from aws_proxy import error_rate

from seqpipe.aws.ingest import VALIDATION_KIND
from seqpipe.aws.layout import processed_vcf_outputs
from seqpipe.aws.quarantine import quarantine_reason
from seqpipe.aws.repositories import Repositories
from seqpipe.handlers import validation_handler, vcf_processor
from seqpipe.storage.s3 import S3Uri

from .support.lambda_context import LambdaContext
from .support.s3_events import object_created

pytestmark = pytest.mark.aws
DATA = Path(__file__).resolve().parent / "data"
FAULT_RATE = 0.2
SEED = 16
# twelve samples' uploads, one in three invalid; each event delivered twice
UPLOADS = {f"S{n}": "badeof.bam" if n % 3 == 0 else "ok.bam" for n in range(1, 13)}
VCF_KEY = "P1/RUN1/S1/S1.vcf.gz"


def test_handlers_with_a_fifth_of_their_requests_faulted_record_every_event_once(dataplane, aws_via_proxy):
    s3, bucket = dataplane.client("s3"), dataplane.settings.raw_bucket
    events = {}
    for sample, name in UPLOADS.items():
        key = f"P1/RUN1/{sample}/{sample}.bam"
        s3.upload_file(str(DATA / name), bucket, key)
        etag = s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
        events[sample] = object_created(bucket, key, (DATA / name).stat().st_size, etag)
    s3.upload_file(str(DATA / "NA12891.vcf.gz"), bucket, VCF_KEY)
    aws_via_proxy.reset()

    aws_via_proxy.inject(*error_rate(FAULT_RATE, service="s3|dynamodb"), seed=SEED)
    outcomes = [
        validation_handler.handler(event, LambdaContext(f"{sample}-{delivery}"))
        for delivery in (1, 2)
        for sample, event in events.items()
    ]
    summaries = [vcf_processor.handler({"bucket": bucket, "key": VCF_KEY}, LambdaContext()) for _ in (1, 2)]
    aws_via_proxy.inject()
    log = aws_via_proxy.requests()

    faults = Counter(r.fault for r in log if r.fault)
    injected = sum(faults.values())
    assert 0.1 < injected / len(log) < 0.3 and set(faults) == {"status 400", "status 500", "status 503"}
    assert Counter(o["created"] for o in outcomes) == {True: len(UPLOADS), False: len(UPLOADS)}
    repos = Repositories.from_settings(dataplane.settings)
    for sample, name in UPLOADS.items():
        status = "QUARANTINED" if name == "badeof.bam" else "VALID"
        [record] = repos.metadata.files_of_sample(sample)
        assert (record["status"], record["etag"]) == (status, events[sample]["detail"]["object"]["etag"])
        [task] = [j for j in repos.jobs.of_sample(sample) if j["kind"] == VALIDATION_KIND]
        assert (task["status"], task["outcome"]) == ("SUCCEEDED", status)
        tag = quarantine_reason(S3Uri(bucket, f"P1/RUN1/{sample}/{sample}.bam"))
        assert (tag is not None) == (name == "badeof.bam")
    assert sorted(s["sample"] for s in repos.metadata.samples_of_run("RUN1")) == sorted(UPLOADS)
    # the VCF processed twice: the same outputs, whole
    assert summaries[0]["counts"] == summaries[1]["counts"] and sum(summaries[0]["counts"].values()) > 0
    processed = dataplane.settings.processed_bucket
    for key in processed_vcf_outputs(VCF_KEY):
        assert s3.head_object(Bucket=processed, Key=key)["ContentLength"] > 0
    print(
        f"\nfigures: {2 * len(UPLOADS)} object events + 2 VCF events, {len(log)} requests, {injected} faults"
        f" injected ({dict(faults)}); records {len(UPLOADS)}/{len(UPLOADS)}, lost 0, duplicated 0"
    )
