"""The dashboard's JSON API against the local AWS endpoint (moto server) filled with demo content."""

from __future__ import annotations

import time

import boto3

from seqpipe.web.auth import issue_token


def test_runs_are_listed_newest_first_with_status_and_duration(client):
    runs = client.get("/api/runs").json()
    assert [r["run_id"] for r in runs] == ["RUN_0005", "RUN_0004", "RUN_0003", "RUN_0002", "RUN_0001"]
    assert runs[0]["status"] == "RUNNING" and runs[0]["duration_seconds"] is None
    settled = runs[1]
    assert settled["status"] == "FAILED" and settled["duration_seconds"] > 0 and settled["samples"] == 4


def test_runs_can_be_filtered_by_status(client):
    failed = client.get("/api/runs", params={"status": "FAILED"}).json()
    assert [r["run_id"] for r in failed] == ["RUN_0004"]
    assert "TaskFailed" in failed[0]["error"]


def test_a_run_has_its_own_job_and_its_workflow_steps(client):
    detail = client.get("/api/runs/RUN_0001").json()
    assert detail["run"]["run_id"] == "RUN_0001"
    assert {j["kind"] for j in detail["jobs"]} == {"run", "step"}
    steps = [j for j in detail["jobs"] if j["kind"] == "step"]
    assert len(steps) == 4 * 4 and {s["rule"] for s in steps} >= {"map_reads", "mark_duplicates"}
    for step in steps:
        assert step["wildcards"] == {"sample": step["sample"]} and step["engine"] == "aws-batch"
        assert [h["status"] for h in step["history"]] == ["QUEUED", "RUNNING", "SUCCEEDED"]


def test_a_step_log_is_a_bounded_read_of_the_end_of_its_s3_object(client, settings, aws):
    """A step whose rule log is in S3 (a Batch run's): the tail is the object's last 16 KiB, from a
    line start, read with a HEAD and one ranged GET."""
    from seqpipe.aws.items import step_item
    from seqpipe.aws.repositories import Repositories

    s3 = aws("s3")
    s3.create_bucket(Bucket=settings.processed_bucket)
    lines = [f"line {i:06d} of the aligner's log" for i in range(5000)]  # about 160 KiB
    s3.put_object(Bucket=settings.processed_bucket, Key="runs/RUN_0001/logs/map_reads/S1.log",
                  Body="\n".join(lines).encode())  # fmt: skip
    log_uri = f"s3://{settings.processed_bucket}/runs/RUN_0001/logs/map_reads/S1.log"
    step = step_item("RUN_0001", "RUN_0001.cafe0000.7.2", "map_reads", 2, "2026-01-05T08:30:00.000Z",
                     sample="S1", wildcards={"sample": "S1"},
                     logs=[log_uri, "/no/such/file.log"])  # fmt: skip
    Repositories.from_settings(settings).jobs.record_step(step)

    response = client.get("/api/runs/RUN_0001/steps/RUN_0001.cafe0000.7.2/log")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["step"]["rule"] == "map_reads" and body["step"]["attempt"] == 2
    s3_tail, missing = body["logs"]
    assert s3_tail["location"] == log_uri and s3_tail["truncated"] and s3_tail["size"] > 100_000
    assert len(s3_tail["text"].encode()) <= 16 * 1024 and s3_tail["text"].endswith(lines[-1])
    assert s3_tail["text"].splitlines()[0] in lines  # no cut line at the start
    assert missing == {"location": "/no/such/file.log", "size": None, "text": "", "truncated": False,
                       "error": "no such file"}  # fmt: skip
    # the step belongs to RUN_0001 only
    other = client.get("/api/runs/RUN_0002/steps/RUN_0001.cafe0000.7.2/log")
    assert other.status_code == 404 and "no such step of run 'RUN_0002'" in other.json()["detail"]


def test_a_runs_samples_carry_qc_verdicts_metrics_and_reasons(client):
    samples = client.get("/api/runs/RUN_0001/samples").json()
    assert [s["sample"] for s in samples] == ["S00001", "S00002", "S00003", "S00004"]
    for entry in samples:
        assert entry["verdict"] in {"PASS", "FAIL"}
        assert set(entry["metrics"]) == {"mapped_pct", "mean_depth", "duplicate_pct", "tstv"}
        failing = [c for c in entry["checks"] if c["verdict"] == "FAIL"]
        assert (entry["verdict"] == "FAIL") == bool(failing)
        assert all(c["reason"] for c in failing)


def test_a_running_runs_samples_are_pending(client):
    samples = client.get("/api/runs/RUN_0005/samples").json()
    assert {s["verdict"] for s in samples} == {"PENDING"}


def test_a_runs_qc_is_one_query_on_the_by_run_index_plus_the_run_item(client, settings):
    calls: list[tuple[str, str, str | None]] = []

    def record(event_name: str, params: dict, **_) -> None:
        calls.append((event_name.rsplit(".", 1)[-1], params.get("TableName"), params.get("IndexName")))

    # clients copy their session's event hooks when created: the app connects on its first request
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("provide-client-params.dynamodb", record)
    try:
        samples = client.get("/api/runs/RUN_0003/samples").json()
    finally:
        boto3.DEFAULT_SESSION.events.unregister("provide-client-params.dynamodb", record)
    assert len(samples) == 4 and all(s["verdict"] in {"PASS", "FAIL"} for s in samples)
    assert sorted(calls) == [("GetItem", settings.jobs_table, None), ("Query", settings.qc_table, "by-run")]


def test_a_sample_has_files_with_checksums_and_qc_across_runs(client):
    sample = client.get("/api/samples/S00002").json()
    assert sample["runs"] == ["RUN_0001", "RUN_0003", "RUN_0005"] and sample["project"] == "DEMO"
    assert len(sample["files"]) == 2 * 3
    assert all(f["checksum"].startswith("etag:") and f["size"] > 0 for f in sample["files"])
    qc = client.get("/api/samples/S00002/qc").json()
    # RUN_0005 is still running: no QC yet
    assert [q["run_id"] for q in qc] == ["RUN_0001", "RUN_0003"]
    assert all(q["metrics"]["mean_depth"] > 0 for q in qc)


def test_delivery_lists_files_with_checksums_or_says_not_delivered(client):
    delivered = client.get("/api/runs/RUN_0001/delivery").json()
    assert delivered["status"] == "DELIVERED" and delivered["manifest_uri"].endswith("manifest.json")
    assert all(len(f["sha256"]) == 64 for f in delivered["files"])
    assert client.get("/api/runs/RUN_0005/delivery").json()["status"] == "NOT_DELIVERED"


def test_the_report_link_is_a_presigned_url_for_runs_in_s3(client):
    link = client.get("/api/runs/RUN_0001/report").json()
    assert "runs/RUN_0001/results/qc/multiqc_report.html" in link["url"]  # seqpipe.aws.layout
    assert "X-Amz-Signature=" in link["url"] and "X-Amz-Expires=3600" in link["url"]
    assert link["expires_at"]


def test_unknown_run_or_sample_is_404_with_a_clear_message(client):
    for path in (
        "/api/runs/NOPE",
        "/api/runs/NOPE/samples",
        "/api/runs/NOPE/delivery",
        "/api/runs/NOPE/report",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "unknown run 'NOPE'" in response.json()["detail"]
    for path in ("/api/samples/NOPE", "/api/samples/NOPE/qc"):
        response = client.get(path)
        assert response.status_code == 404 and "unknown sample 'NOPE'" in response.json()["detail"]


def test_missing_wrong_or_expired_token_is_401(client, secret):
    bare = {"Authorization": ""}
    assert client.get("/api/runs", headers=bare).status_code == 401
    wrong = client.get("/api/runs", headers={"Authorization": "Bearer " + issue_token("other", "x", 60)})
    assert wrong.status_code == 401 and "invalid token" in wrong.json()["detail"]
    expired_token = issue_token(secret, "x", 60, now=time.time() - 3600)
    expired = client.get("/api/runs", headers={"Authorization": f"Bearer {expired_token}"})
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    assert expired.headers["www-authenticate"].startswith("Bearer")


def test_bad_parameters_are_422_naming_the_parameter(client):
    response = client.get("/api/runs", params={"limit": 0})
    assert response.status_code == 422 and "limit" in response.json()["detail"]
    assert client.get("/api/runs", params={"status": "DONE"}).status_code == 422
