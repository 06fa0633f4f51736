"""The Lambda handlers called directly against the local endpoint (tables, buckets and queues in moto)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pysam
import pytest
from batch_jobs import submit_job_of_run
from polling import wait_until

from seqpipe.aws import ingest
from seqpipe.aws.qc import QcInputError
from seqpipe.aws.quarantine import quarantine_reason
from seqpipe.aws.repositories import Repositories
from seqpipe.aws.transitions import IllegalTransition, NotOwner
from seqpipe.handlers import metadata_updater, quality_metrics, run_cleanup, validation_handler, vcf_processor
from seqpipe.qc.verdicts import read_verdicts
from seqpipe.storage.s3 import S3Uri

from .support.pipeline_qc import write_qc
from .support.s3_events import object_created

pytestmark = pytest.mark.aws
DATA = Path(__file__).resolve().parent / "data"


def upload(dataplane, name: str, key: str, bucket: str | None = None) -> dict:
    bucket = bucket or dataplane.settings.raw_bucket
    s3 = dataplane.client("s3")
    s3.upload_file(str(DATA / name), bucket, key)
    head = s3.head_object(Bucket=bucket, Key=key)
    return object_created(bucket, key, head["ContentLength"], head["ETag"].strip('"'))


def test_duplicate_object_created_events_leave_one_record(dataplane, lambda_context):
    event = upload(dataplane, "ok.bam", "P1/RUN1/S1/S1.bam")

    first = validation_handler.handler(event, lambda_context)
    second = validation_handler.handler(event, lambda_context)

    assert (first["created"], second["created"]) == (True, False)
    repos = Repositories.from_settings(dataplane.settings)
    files = repos.metadata.files_of_sample("S1")
    assert len(files) == 1
    record = files[0]
    assert record["status"] == "VALID" and record["validation"]["format"] == "BAM"
    assert record["size"] == 1228 and record["etag"] == event["detail"]["object"]["etag"]
    assert [s["sample"] for s in repos.metadata.samples_of_run("RUN1")] == ["S1"]
    assert [s["sample"] for s in repos.metadata.samples_of_project("P1")] == ["S1"]


def test_the_record_keeps_the_uploaders_sha256_of_the_events_object_version(dataplane, lambda_context):
    s3, bucket, key = dataplane.client("s3"), dataplane.settings.raw_bucket, "P1/RUN1/S1/S1.bam"
    repos = Repositories.from_settings(dataplane.settings)

    def put(body: bytes) -> tuple[dict, str]:
        digest = hashlib.sha256(body).hexdigest()
        s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata={"sha256": digest})
        etag = s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
        return object_created(bucket, key, len(body), etag), digest

    first, _ = put((DATA / "ok.bam").read_bytes())
    second, digest = put((DATA / "badeof.bam").read_bytes())

    # the first upload's event arrives after the object was replaced: neither the second upload's
    # checksum nor its verdict may be recorded for it, so it records nothing
    late = validation_handler.handler(first, lambda_context)
    assert (late["created"], late["status"], late["sha256"]) == (False, ingest.SUPERSEDED, None)
    assert repos.metadata.files_of_sample("S1") == []

    outcome = validation_handler.handler(second, lambda_context)
    duplicate = validation_handler.handler(second, lambda_context)

    assert (outcome["created"], duplicate["created"]) == (True, False)
    assert outcome["sha256"] == duplicate["sha256"] == digest
    [record] = repos.metadata.files_of_sample("S1")
    assert (record["etag"], record["sha256"]) == (second["detail"]["object"]["etag"], digest)


def test_invalid_object_is_quarantined_by_tag_and_kept(dataplane, lambda_context):
    event = upload(dataplane, "badeof.bam", "P1/RUN1/S1/S1.bam")

    outcome = validation_handler.handler(event, lambda_context)

    assert outcome["status"] == "QUARANTINED"
    uri = S3Uri(dataplane.settings.raw_bucket, "P1/RUN1/S1/S1.bam")
    assert "BGZF EOF block missing" in quarantine_reason(uri)
    assert dataplane.client("s3").head_object(Bucket=uri.bucket, Key=uri.key)["ContentLength"] == 1228
    record = Repositories.from_settings(dataplane.settings).metadata.files_of_sample("S1")[0]
    assert record["status"] == "QUARANTINED"
    assert record["validation"]["errors"][0].startswith("error: BGZF EOF block missing")


def test_new_upload_to_the_same_key_replaces_the_record(dataplane, lambda_context):
    validation_handler.handler(upload(dataplane, "badeof.bam", "P1/RUN1/S1/S1.bam"), lambda_context)
    outcome = validation_handler.handler(upload(dataplane, "ok.bam", "P1/RUN1/S1/S1.bam"), lambda_context)

    assert outcome["created"] and outcome["status"] == "VALID"
    files = Repositories.from_settings(dataplane.settings).metadata.files_of_sample("S1")
    assert [f["status"] for f in files] == ["VALID"]


def test_object_outside_the_key_convention_is_recorded_as_unassigned(dataplane, lambda_context):
    outcome = validation_handler.handler(
        upload(dataplane, "NA12891.vcf.gz", "dropbox/x.vcf.gz"), lambda_context
    )
    assert outcome["sample"] == "unassigned" and outcome["status"] == "VALID"


def test_index_files_are_recorded_without_validation(dataplane, lambda_context):
    s3 = dataplane.client("s3")
    s3.put_object(Bucket=dataplane.settings.raw_bucket, Key="P1/RUN1/S1/S1.bam.bai", Body=b"index bytes")
    head = s3.head_object(Bucket=dataplane.settings.raw_bucket, Key="P1/RUN1/S1/S1.bam.bai")
    event = object_created(
        dataplane.settings.raw_bucket, "P1/RUN1/S1/S1.bam.bai", 11, head["ETag"].strip('"')
    )

    outcome = validation_handler.handler(event, lambda_context)

    assert outcome["status"] == "RECORDED"
    assert quarantine_reason(S3Uri(dataplane.settings.raw_bucket, "P1/RUN1/S1/S1.bam.bai")) is None


def test_run_folder_is_validated_when_its_completion_marker_arrives(
    dataplane, lambda_context, tmp_path, make_run_folder
):
    folder = make_run_folder(tmp_path / "run", cycles=4, complete=True)
    s3, bucket = dataplane.client("s3"), dataplane.settings.raw_bucket
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, f"P1/RUN9/bcl/{path.relative_to(folder)}")

    def created(key: str) -> dict:
        head = s3.head_object(Bucket=bucket, Key=key)
        return object_created(bucket, key, head["ContentLength"], head["ETag"].strip('"'))

    bcl_event = created("P1/RUN9/bcl/Data/Intensities/BaseCalls/L001/C1.1/s_1_1101.bcl.gz")
    marker = created("P1/RUN9/bcl/RTAComplete.txt")

    assert validation_handler.handler(bcl_event, lambda_context)["status"] == "RECORDED"
    outcome = validation_handler.handler(marker, lambda_context)

    assert outcome["format"] == "BCL" and outcome["errors"] == [
        "error: Data/Intensities/BaseCalls/L001: 1 of 5 cycle folders missing (C5)"
    ]
    assert outcome["status"] == "QUARANTINED" and outcome["sample"] == "run:RUN9"


def test_event_for_an_object_deleted_since_records_nothing(dataplane, lambda_context):
    # S3 reads are strongly consistent: an object missing when its event arrives was deleted since
    event = object_created(dataplane.settings.raw_bucket, "P1/RUN1/S1/gone.bam", 10, "abc")
    assert validation_handler.handler(event, lambda_context)["status"] == ingest.SUPERSEDED
    assert Repositories.from_settings(dataplane.settings).metadata.files_of_sample("S1") == []


def test_vcf_processor_skips_an_invalid_vcf(dataplane, lambda_context):
    upload(dataplane, "vcfexample.vcf.truncated.gz", "P1/RUN1/S1/bad.vcf.gz")
    summary = vcf_processor.handler(
        {"bucket": dataplane.settings.raw_bucket, "key": "P1/RUN1/S1/bad.vcf.gz"}, lambda_context
    )
    assert summary["skipped"] and "BGZF EOF block missing" in summary["errors"][-1]


def test_lambda_logs_are_structured_json_with_the_run_id_and_emf_metrics(dataplane, deploy_with):
    deploy_with()
    response = dataplane.client("lambda").invoke(
        FunctionName="test-metadata-updater",
        LogType="Tail",
        Payload=json.dumps({"action": "record_run", "run_id": "RUN7", "project": "P1", "samples": ["S1"]}),
    )

    assert json.loads(response["Payload"].read())["created"] is True
    lines = base64.b64decode(response["LogResult"]).decode().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    entry = next(r for r in records if r.get("message") == "run updated")
    assert entry["run_id"] == "RUN7" and entry["service"] == "metadata-updater" and entry["level"] == "INFO"
    emf = next(r for r in records if "_aws" in r)
    assert emf["RunsStarted"] == [1.0] and emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "seqpipe"


def test_illegal_transition_is_refused(dataplane, lambda_context):
    event = {"action": "record_run", "run_id": "RUN1", "project": "P1", "samples": ["S1"]}
    metadata_updater.handler(event, lambda_context)

    with pytest.raises(IllegalTransition, match="SUBMITTED → SUCCEEDED"):
        metadata_updater.handler(
            {"action": "transition", "run_id": "RUN1", "status": "SUCCEEDED"}, lambda_context
        )
    assert Repositories.from_settings(dataplane.settings).jobs.get("RUN1")["status"] == "SUBMITTED"


def test_metadata_updater_refuses_a_lost_update(dataplane, lambda_context):
    metadata_updater.handler(
        {"action": "record_run", "run_id": "RUN1", "project": "P1", "samples": ["S1"]}, lambda_context
    )
    move = {"action": "transition", "run_id": "RUN1", "status": "RUNNING", "expected_version": 1}
    assert metadata_updater.handler(move, lambda_context)["version"] == 2

    with pytest.raises(IllegalTransition, match="changed by another writer"):
        metadata_updater.handler({**move, "status": "FAILED"}, lambda_context)


def test_transition_from_a_stale_version_is_refused(dataplane):
    jobs = Repositories.from_settings(dataplane.settings).jobs
    jobs.record_run("RUN1", "P1", ["S1"])
    seen = jobs.get("RUN1")["version"]
    jobs.transition("RUN1", "RUNNING", expected_version=seen)

    with pytest.raises(IllegalTransition, match=r"changed by another writer"):
        jobs.transition("RUN1", "FAILED", expected_version=seen)
    assert jobs.get("RUN1")["status"] == "RUNNING"


def test_failed_run_can_be_submitted_again_as_a_new_attempt(dataplane):
    jobs = Repositories.from_settings(dataplane.settings).jobs
    jobs.record_run("RUN1", "P1", ["S1"])
    assert jobs.record_run("RUN1", "P1", ["S1"])[0] is False
    jobs.transition("RUN1", "FAILED", error_name="States.TaskFailed", error_cause="exit 3")
    created, item = jobs.record_run("RUN1", "P1", ["S1"])
    assert created and item["attempt"] == 2 and item["status"] == "SUBMITTED"
    assert "error_name" not in item and "error_cause" not in item  # the new attempt has not failed


EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:test-run:RUN1-{}"


def test_only_the_execution_that_owns_a_run_moves_it_on(dataplane, lambda_context):
    for attempt in (1, 2):
        metadata_updater.handler(
            {
                "action": "record_run",
                "run_id": "RUN1",
                "project": "P1",
                "samples": ["S1"],
                "execution_arn": EXECUTION.format(attempt),
            },
            lambda_context,
        )
        if attempt == 1:
            Repositories.from_settings(dataplane.settings).jobs.transition("RUN1", "FAILED")
    move = {"action": "transition", "run_id": "RUN1", "status": "RUNNING"}

    with pytest.raises(NotOwner, match=r"RUN1-2, not .*RUN1-1"):
        metadata_updater.handler({**move, "execution_arn": EXECUTION.format(1)}, lambda_context)
    moved = metadata_updater.handler({**move, "execution_arn": EXECUTION.format(2)}, lambda_context)
    assert moved["status"] == "RUNNING"


def run_ended(execution_arn: str, status: str, run_input: dict | None) -> dict:
    """The "Step Functions Execution Status Change" event EventBridge sends the run cleanup."""
    return {
        "version": "0",
        "id": "6f6a2c1e-0000-4000-8000-000000000001",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": "123456789012",
        "time": "2026-11-26T10:00:00Z",
        "region": "us-east-1",
        "resources": [execution_arn],
        "detail": {
            "executionArn": execution_arn,
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:test-run",
            "name": execution_arn.rsplit(":", 1)[1],
            "status": status,
            "input": None if run_input is None else json.dumps(run_input),
            "error": "RunFailed" if status == "FAILED" else None,
            "cause": "the run failed" if status == "FAILED" else None,
        },
    }


def test_the_late_end_of_an_earlier_attempt_leaves_the_current_attempt_and_its_jobs_alone(
    dataplane, deploy_with, lambda_context, monkeypatch
):
    deployment = deploy_with()
    monkeypatch.setenv("JOB_QUEUES", f"{deployment.head_queue},{deployment.task_queue}")
    jobs = Repositories.from_settings(dataplane.settings).jobs
    jobs.record_run("RUN1", "P1", ["S1"], execution_arn=EXECUTION.format(1))
    jobs.transition("RUN1", "FAILED")
    jobs.record_run("RUN1", "P1", ["S1"], execution_arn=EXECUTION.format(2))
    jobs.transition("RUN1", "RUNNING", execution_arn=EXECUTION.format(2))
    batch = dataplane.client("batch")
    head = submit_job_of_run(batch, deployment.head_queue, "RUN1", "attempt-2-head", ["sleep", "60"])

    def head_status() -> str:
        return batch.describe_jobs(jobs=[head])["jobs"][0]["status"]

    # attempt 1's FAILED event arrives only now (EventBridge delivers at least once, not in order)
    event = run_ended(EXECUTION.format(1), "FAILED", {"run_id": "RUN1"})
    result = run_cleanup.handler(event, lambda_context)

    assert result == {"run_id": "RUN1", "owned": False, "timed_out": False, "terminated": []}
    assert jobs.get("RUN1")["status"] == "RUNNING"
    assert head_status() == "RUNNING"
    # attempt 2 ending does what attempt 1 could not
    result = run_cleanup.handler(
        run_ended(EXECUTION.format(2), "ABORTED", {"run_id": "RUN1"}), lambda_context
    )
    assert result["owned"] and result["terminated"] == [head] and result["status"] == "ABORTED"
    # the endpoint stops a terminated job asynchronously, as Batch does
    wait_until(lambda: head_status() == "FAILED", timeout=60, what="the head job terminated")


def test_the_run_cleanup_names_an_execution_whose_input_the_event_does_not_carry(dataplane, lambda_context):
    event = run_ended(EXECUTION.format(1), "TIMED_OUT", None)
    with pytest.raises(run_cleanup.EventWithoutInput, match=r"RUN1-1 ended TIMED_OUT.*by hand"):
        run_cleanup.handler(event, lambda_context)


def test_access_patterns_are_single_queries(dataplane):
    repos = Repositories.from_settings(dataplane.settings)
    for run, samples in (("RUN1", ["S1", "S2"]), ("RUN2", ["S1"])):
        repos.jobs.record_run(run, "P1", samples)
        for sample in samples:
            repos.metadata.register_sample(sample, "P1")
            repos.metadata.add_sample_to_run(sample, run, "P1")
            repos.jobs.record_task(f"{run}-{sample}-qc", "qc", run, sample, "SUCCEEDED")
    repos.jobs.transition("RUN1", "RUNNING")
    repos.quality.put("S1", "RUN1", "P1", {"mean_depth": 30.0}, [], "PASS")
    repos.quality.put("S1", "RUN2", "P1", {"mean_depth": 3.0}, [], "FAIL")
    repos.quality.put("S2", "RUN1", "P1", {"mean_depth": 31.0}, [], "PASS")

    assert repos.metadata.get_sample("S1")["project"] == "P1"
    assert [i["sk"] for i in repos.metadata.runs_of_sample("S1")] == ["RUN#RUN1", "RUN#RUN2"]
    assert [i["sample"] for i in repos.metadata.samples_of_run("RUN1")] == ["S1", "S2"]
    assert [i["sample"] for i in repos.metadata.samples_of_project("P1")] == ["S1", "S2"]
    assert [j["job_id"] for j in repos.jobs.by_status("SUBMITTED")] == ["RUN2"]
    assert [j["job_id"] for j in repos.jobs.by_status("SUCCEEDED")] == [
        "RUN2-S1-qc",
        "RUN1-S2-qc",
        "RUN1-S1-qc",
    ]
    assert [j["job_id"] for j in repos.jobs.of_sample("S1")] == ["RUN2-S1-qc", "RUN1-S1-qc"]
    assert [j["job_id"] for j in repos.jobs.runs()] == ["RUN2", "RUN1"]
    assert [j["job_id"] for j in repos.jobs.of_run("RUN1")] == ["RUN1", "RUN1-S1-qc", "RUN1-S2-qc"]
    assert [q["run_id"] for q in repos.quality.of_sample("S1")] == ["RUN1", "RUN2"]
    assert [(q["sample"], q["verdict"]) for q in repos.quality.of_run("RUN1")] == [
        ("S1", "PASS"),
        ("S2", "PASS"),
    ]
    assert [(q["sample"], q["verdict"]) for q in repos.quality.of_run("RUN2")] == [("S1", "FAIL")]
    assert [(q["sample"], q["run_id"]) for q in repos.quality.failing_in_project("P1")] == [("S1", "RUN2")]


def test_quality_metrics_records_the_pipelines_qc_summary(dataplane, lambda_context, tmp_path):
    processed = dataplane.settings.processed_bucket
    write_qc(tmp_path, ["NA12878", "NA12879"], {"NA12879"}, {"tstv": {"min": 2.0}, "mean_depth": {"min": 30}})
    dataplane.client("s3").upload_file(
        str(tmp_path / "qc" / "qc_summary.json"), processed, "runs/R1/qc/qc_summary.json"
    )

    result = quality_metrics.handler(
        {
            "run_id": "R1",
            "project": "P1",
            "samples": ["NA12878", "NA12879"],
            "output_uri": f"s3://{processed}/runs/R1",
        },
        lambda_context,
    )

    assert result["passed"] == ["NA12878"] and result["failed"] == ["NA12879"]
    item = Repositories.from_settings(dataplane.settings).quality.get("NA12878", "R1")
    assert item["metrics"]["mean_depth"] == 38.77
    assert item["metrics"]["mapped_pct"] == pytest.approx(99.79)
    assert item["metrics"]["tstv"] == 6.0 and item["metrics"]["snps"] == 14
    failing = Repositories.from_settings(dataplane.settings).quality.get("NA12879", "R1")
    assert [c["reason"] for c in failing["checks"] if c["verdict"] == "FAIL"] == [
        "mean_depth 5 is below the minimum 30"
    ]
    assert [c["metric"] for c in failing["checks"]] == [
        v.metric for v in read_verdicts(tmp_path / "qc" / "qc_summary.tsv") if v.sample == "NA12879"
    ]


def test_quality_metrics_names_a_missing_summary_and_a_missing_sample(dataplane, lambda_context, tmp_path):
    processed = dataplane.settings.processed_bucket
    event = {
        "run_id": "R2",
        "project": "P1",
        "samples": ["NA12878", "S9"],
        "output_uri": f"s3://{processed}/runs/R2",
    }
    summary = f"s3://{processed}/runs/R2/qc/qc_summary.json"
    with pytest.raises(
        QcInputError, match=f"^{summary} not found: the workflow did not write its QC summary$"
    ):
        quality_metrics.handler(event, lambda_context)

    write_qc(tmp_path, ["NA12878"], set(), {})
    dataplane.client("s3").upload_file(
        str(tmp_path / "qc" / "qc_summary.json"), processed, "runs/R2/qc/qc_summary.json"
    )
    with pytest.raises(QcInputError, match=f"^{summary} has no QC for sample\\(s\\) S9$"):
        quality_metrics.handler(event, lambda_context)
    assert Repositories.from_settings(dataplane.settings).quality.of_run("R2") == []


def test_vcf_processor_normalizes_indexes_and_summarizes(dataplane, lambda_context, tmp_path):
    vcf = tmp_path / "multi.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1000>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
        "chr1\t10\t.\tA\tG\t50\tPASS\t.\tGT\t0/1\n"
        "chr1\t20\t.\tC\tA,T\t50\tPASS\t.\tGT\t1/2\n"
        "chr1\t30\t.\tG\tGTT\t50\tPASS\t.\tGT\t1/1\n"
    )
    key = "P1/RUN1/S1/multi.vcf"
    dataplane.client("s3").upload_file(str(vcf), dataplane.settings.raw_bucket, key)

    summary = vcf_processor.handler({"bucket": dataplane.settings.raw_bucket, "key": key}, lambda_context)

    assert summary["counts"] == {"snv": 3, "indel": 1}
    assert (summary["ts"], summary["tv"]) == (2, 1)  # A>G and C>T are transitions, C>A is not
    assert summary["genotypes"]["S1"]["hom_alt"] == 1
    target = tmp_path / "out.vcf.gz"
    processed = dataplane.settings.processed_bucket
    dataplane.client("s3").download_file(processed, "vcf/P1/RUN1/S1/multi.norm.vcf.gz", str(target))
    dataplane.client("s3").download_file(
        processed, "vcf/P1/RUN1/S1/multi.norm.vcf.gz.tbi", str(target) + ".tbi"
    )
    with pysam.VariantFile(str(target)) as normalized:
        assert [(r.pos, r.alts) for r in normalized.fetch("chr1")] == [
            (10, ("G",)),
            (20, ("A",)),
            (20, ("T",)),
            (30, ("GTT",)),
        ]
