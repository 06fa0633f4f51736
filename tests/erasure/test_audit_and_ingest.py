"""The erasure audit record against the local endpoint, and raw uploads under a reserved name."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqpipe.aws.audit import AuditRecordClosed, AuditStatus, ErasureAudit
from seqpipe.aws.ingest import UNASSIGNED, ObjectVersion, ingest_object
from seqpipe.aws.repositories import Repositories
from seqpipe.aws.settings import Settings
from seqpipe.aws.tables import create_tables

pytestmark = pytest.mark.aws
READS = Path(__file__).resolve().parents[1] / "dataplane" / "data" / "reads_R1.fastq.gz"


@pytest.fixture
def settings(aws) -> Settings:
    settings = Settings.from_env()
    create_tables(aws("dynamodb"), settings.table_names())
    aws("s3").create_bucket(Bucket=settings.raw_bucket)
    return settings


def test_an_erasure_is_recorded_started_and_a_finished_record_is_never_written_again(settings):
    audit = ErasureAudit(settings.audit_table)
    started = audit.start("S1", "consent withdrawn", "arn:aws:sts::123456789012:assumed-role/erasure/dpo", {})
    assert audit.get(started["erasure_id"])["status"] == AuditStatus.STARTED

    finished = audit.finish(
        started["erasure_id"], AuditStatus.FAILED, {"objects": []}, [{"what": "x", "error": "y"}]
    )

    for attempt in (
        lambda: audit.finish(started["erasure_id"], AuditStatus.SUCCEEDED, {"objects": []}, []),
        lambda: audit.finish(started["erasure_id"], AuditStatus.FAILED, {}, []),
    ):
        with pytest.raises(AuditRecordClosed):
            attempt()
    assert audit.get(started["erasure_id"]) == finished
    with pytest.raises(AuditRecordClosed):  # finishing creates nothing
        audit.finish("no-such-erasure", AuditStatus.SUCCEEDED, {}, [])
    assert audit.get("no-such-erasure") is None


def test_the_workload_settings_do_not_name_the_audit_table(settings):
    """Lambdas and Batch jobs get Settings.environment(): the audit table is not in it."""
    assert "AUDIT_TABLE" not in settings.environment()
    assert settings.audit_table not in settings.environment().values()


@pytest.mark.parametrize("name", ["qc", "sample", "unassigned", "S.1"])
def test_an_upload_under_a_reserved_or_malformed_sample_name_registers_no_sample(aws, settings, name):
    key = f"P1/RUN1/{name}/reads_R1.fastq.gz"
    put = aws("s3").put_object(Bucket=settings.raw_bucket, Key=key, Body=READS.read_bytes())
    repos = Repositories.from_settings(settings)

    version = ObjectVersion(settings.raw_bucket, key, put["ETag"].strip('"'), READS.stat().st_size)
    outcome = ingest_object(repos, version)

    assert outcome["sample"] == UNASSIGNED
    assert repos.metadata.get_sample(name) is None and repos.metadata.samples_of_run("RUN1") == []
