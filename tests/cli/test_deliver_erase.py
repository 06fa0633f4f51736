"""`seqpipe deliver` and `seqpipe erase` through the real entry point against the local AWS endpoint."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import requests

from seqpipe.aws.delivery import RECIPIENT_TAG
from seqpipe.aws.layout import RUN_OUTDIR, run_outputs_key
from seqpipe.storage.s3 import S3Uri

SAMPLE = "S00008"  # in RUN_0002 (succeeded) and RUN_0004 (failed), passed QC in both
ACTIVE_SAMPLE = "S00002"  # in RUN_0001 and RUN_0003 (both settled) and RUN_0005 (running)


def output_key(run: str, key: str) -> str:
    """The key of an output of a run (seqpipe.aws.layout.run_output_uri: runs/<run>/results/)."""
    return f"{run_outputs_key(run)}/{RUN_OUTDIR}/{key}"


def put_outputs(s3, settings, run: str, samples: list[str]) -> None:
    """What the workflow leaves under s3://<processed>/runs/<run>/results/ (a few files of its layout)."""
    for sample in samples:
        for key in (f"cram/{sample}.cram", f"cram/{sample}.cram.crai", f"vcf/{sample}.bcftools.vcf.gz",
                    f"qc/mosdepth/{sample}.mosdepth.summary.txt"):  # fmt: skip
            s3.put_object(
                Bucket=settings.processed_bucket, Key=output_key(run, key), Body=f"{run}/{key}".encode()
            )
    for key in ("vcf/joint/all.bcftools.vcf.gz", "qc/multiqc_report.html"):
        s3.put_object(Bucket=settings.processed_bucket, Key=output_key(run, key), Body=b"mixed samples")


def test_deliver_copies_approved_outputs_with_a_manifest_and_expiring_links(seqpipe, demo, settings, aws):
    s3 = aws("s3")
    samples = ["S00001", "S00002", "S00003", "S00004"]
    put_outputs(s3, settings, "RUN_0001", samples)
    result = seqpipe("deliver", "RUN_0001", "--expires", "2h", "--json")
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["samples"] == samples
    assert {f["uri"] for f in report["files"]} == {
        f"s3://{settings.delivery_bucket}/RUN_0001/{s}/{name}"
        for s in samples
        for name in (f"{s}.cram", f"{s}.cram.crai", f"{s}.bcftools.vcf.gz")
    }
    first = report["files"][0]
    assert "X-Amz-Expires=7200" in first["url"]
    body = requests.get(first["url"], timeout=10).content
    assert hashlib.sha256(body).hexdigest() == first["sha256"]
    manifest = json.loads(requests.get(report["manifest_url"], timeout=10).content)
    assert manifest["run_id"] == "RUN_0001" and len(manifest["files"]) == 12


def test_links_signed_with_a_long_term_key_keep_the_lifetime_asked_for(seqpipe, demo, settings, aws):
    put_outputs(aws("s3"), settings, "RUN_0001", ["S00001"])
    report = seqpipe("deliver", "RUN_0001", "--sample", "S00001", "--expires", "7d", "--json").json()
    assert report["expiry_capped_by"] is None
    assert all("X-Amz-Expires=604800" in f["url"] for f in report["files"])


def test_links_signed_with_a_role_session_end_with_it_and_say_so(seqpipe, demo, settings, aws, monkeypatch):
    put_outputs(aws("s3"), settings, "RUN_0001", ["S00001"])
    role = aws("iam").create_role(RoleName="delivery", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    session = aws("sts").assume_role(RoleArn=role, RoleSessionName="deliver", DurationSeconds=900)[
        "Credentials"
    ]
    for name, value in (
        ("AWS_ACCESS_KEY_ID", session["AccessKeyId"]),
        ("AWS_SECRET_ACCESS_KEY", session["SecretAccessKey"]),
        ("AWS_SESSION_TOKEN", session["SessionToken"]),
        ("AWS_CREDENTIAL_EXPIRATION", session["Expiration"].isoformat()),
    ):
        monkeypatch.setenv(name, value)

    result = seqpipe("deliver", "RUN_0001", "--sample", "S00001", "--expires", "7d", "--json")

    assert result.returncode == 0, result.stderr
    report = result.json()
    expires_at = datetime.fromisoformat(report["expires_at"])
    assert expires_at <= session["Expiration"] - timedelta(seconds=60)
    assert "temporary credentials" in report["expiry_capped_by"]
    assert session["Expiration"].astimezone(UTC).isoformat(timespec="seconds") in report["expiry_capped_by"]
    lifetimes = {int(parse_qs(urlparse(f["url"]).query)["X-Amz-Expires"][0]) for f in report["files"]}
    assert lifetimes and max(lifetimes) <= 900 - 60
    # the manifest says until when the links handed out for it work, and why not longer
    manifest = json.loads(
        aws("s3").get_object(Bucket=settings.delivery_bucket, Key="RUN_0001/manifest.json")["Body"].read()
    )
    assert manifest["links"] == {"expires_at": report["expires_at"], "capped_by": report["expiry_capped_by"]}
    text = seqpipe("deliver", "RUN_0001", "--sample", "S00001", "--expires", "7d").stdout
    assert "not after 7d: signed with temporary credentials" in text


def test_deliver_for_a_recipient_tags_every_copy_and_the_manifest_for_it(seqpipe, demo, settings, aws):
    s3 = aws("s3")
    put_outputs(s3, settings, "RUN_0001", ["S00001", "S00002"])
    result = seqpipe("deliver", "RUN_0001", "--recipient", "partner-lab", "--json")
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["recipient"] == "partner-lab" and len(report["files"]) == 6
    keys = [S3Uri.parse(f["uri"]).key for f in report["files"]] + ["RUN_0001/manifest.json"]
    for key in keys:
        tags = s3.get_object_tagging(Bucket=settings.delivery_bucket, Key=key)["TagSet"]
        assert tags == [{"Key": RECIPIENT_TAG, "Value": "partner-lab"}], key
    manifest = json.loads(s3.get_object(Bucket=settings.delivery_bucket, Key=keys[-1])["Body"].read())
    assert manifest["recipient"] == "partner-lab"


def test_a_recipient_that_cannot_be_a_partners_name_is_refused_before_any_copy(seqpipe, demo, settings, aws):
    put_outputs(aws("s3"), settings, "RUN_0001", ["S00001"])
    result = seqpipe("deliver", "RUN_0001", "--recipient", "Partner Lab")
    assert result.returncode == 2 and "--recipient Partner Lab" in result.stderr
    assert (
        aws("s3").list_objects_v2(Bucket=settings.delivery_bucket, Prefix="RUN_0001/S00001/")["KeyCount"] == 0
    )


def test_deliver_refuses_samples_that_failed_qc(seqpipe, demo, settings, aws):
    put_outputs(aws("s3"), settings, "RUN_0002", ["S00005", "S00006", "S00007", "S00008"])
    result = seqpipe("deliver", "RUN_0002", "--sample", "S00005")
    assert result.returncode == 4 and "S00005 (FAIL)" in result.stderr
    assert (
        aws("s3").list_objects_v2(Bucket=settings.delivery_bucket, Prefix="RUN_0002/S00005/")["KeyCount"] == 0
    )


def test_deliver_an_unknown_run_is_exit_3(seqpipe, demo):
    result = seqpipe("deliver", "NOPE")
    assert result.returncode == 3 and "unknown run 'NOPE'" in result.stderr


def test_deliver_links_live_at_most_seven_days(seqpipe, demo):
    assert seqpipe("deliver", "RUN_0001", "--expires", "8d").returncode == 2


def _prepare_sample_everywhere(seqpipe, settings, aws) -> None:
    s3 = aws("s3")
    s3.put_bucket_versioning(Bucket=settings.raw_bucket, VersioningConfiguration={"Status": "Enabled"})
    for run in ("RUN_0002", "RUN_0004"):
        for read in (1, 2):
            key = f"DEMO/{run}/{SAMPLE}/{SAMPLE}_R{read}.fastq.gz"
            s3.put_object(Bucket=settings.raw_bucket, Key=key, Body=b"old version")
            s3.put_object(Bucket=settings.raw_bucket, Key=key, Body=b"reads")
    s3.put_object(Bucket=settings.raw_bucket, Key="DEMO/RUN_0002/S00007/S00007_R1.fastq.gz", Body=b"other")
    put_outputs(s3, settings, "RUN_0002", ["S00005", "S00006", "S00007", "S00008"])
    # another sample whose id starts with this one's: never taken along
    s3.put_object(
        Bucket=settings.processed_bucket, Key=output_key("RUN_0002", f"cram/{SAMPLE}_B.cram"), Body=b"B"
    )
    assert seqpipe("deliver", "RUN_0002", "--recipient", "partner-lab").returncode == 0


def test_erase_dry_run_lists_everything_and_changes_nothing(seqpipe, demo, settings, aws):
    _prepare_sample_everywhere(seqpipe, settings, aws)
    result = seqpipe("erase", SAMPLE, "--reason", "consent withdrawn", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    plan = result.json()
    assert plan["runs"] == ["RUN_0002", "RUN_0004"] and plan["blocked_by"] == {}
    assert f"s3://{settings.raw_bucket}/DEMO/RUN_0004/{SAMPLE}/{SAMPLE}_R2.fastq.gz" in plan["objects"]
    assert f"s3://{settings.delivery_bucket}/RUN_0002/{SAMPLE}/{SAMPLE}.cram" in plan["objects"]
    regenerated = output_key("RUN_0002", "qc/multiqc_report.html")
    assert plan["regenerate"] == [f"s3://{settings.processed_bucket}/{regenerated}"]
    # a joint VCF whose header cannot be read, of a group not named after the sample, is not its own
    assert not any("joint" in uri or "S00007" in uri for uri in plan["objects"])
    assert plan["rewritten"] == [f"s3://{settings.delivery_bucket}/RUN_0002/manifest.json"]
    assert seqpipe("status", "--sample", SAMPLE, "--json").json()["jobs"]  # still there
    assert not aws("dynamodb").scan(TableName=settings.audit_table)["Items"]


def test_erase_asks_for_the_sample_id_and_refuses_a_mismatch(seqpipe, demo, settings, aws):
    result = seqpipe("erase", SAMPLE, "--reason", "consent withdrawn", input="S00003\n")
    assert result.returncode == 4 and "nothing was erased" in result.stderr
    assert seqpipe("qc", "--sample", SAMPLE, "--json").json()


def test_erasing_a_sample_of_a_running_run_is_refused_naming_the_run(seqpipe, demo, settings, aws):
    result = seqpipe("erase", ACTIVE_SAMPLE, "--reason", "consent withdrawn", "--yes")
    assert result.returncode == 4
    assert f"sample {ACTIVE_SAMPLE} is in a run that is still active: RUN_0005 (RUNNING)" in result.stderr
    assert seqpipe("qc", "--sample", ACTIVE_SAMPLE, "--json").json()
    assert not aws("dynamodb").scan(TableName=settings.audit_table)["Items"]


def test_erase_removes_the_sample_everywhere_and_writes_an_audit_record(seqpipe, demo, settings, aws):
    _prepare_sample_everywhere(seqpipe, settings, aws)
    result = seqpipe("erase", SAMPLE, "--reason", "consent withdrawn (ticket 812)", input=f"{SAMPLE}\n")
    assert result.returncode == 0, result.stderr
    assert "SUCCEEDED" in result.stdout

    s3 = aws("s3")
    versions = s3.list_object_versions(Bucket=settings.raw_bucket).get("Versions", [])
    assert [v["Key"] for v in versions] == [
        "DEMO/RUN_0002/S00007/S00007_R1.fastq.gz"
    ]  # old versions gone too
    for bucket in (settings.processed_bucket, settings.delivery_bucket):
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        assert keys and not any(f"{SAMPLE}." in k or f"/{SAMPLE}/" in k for k in keys), keys
    s3.head_object(
        Bucket=settings.processed_bucket, Key=output_key("RUN_0002", f"cram/{SAMPLE}_B.cram")
    )  # kept
    manifest = json.loads(
        s3.get_object(Bucket=settings.delivery_bucket, Key="RUN_0002/manifest.json")["Body"].read()
    )
    assert SAMPLE not in json.dumps(manifest) and {f["sample"] for f in manifest["files"]} == {"S00007"}
    # the rewritten manifest is still the partner's to read
    tags = s3.get_object_tagging(Bucket=settings.delivery_bucket, Key="RUN_0002/manifest.json")["TagSet"]
    assert tags == [{"Key": RECIPIENT_TAG, "Value": "partner-lab"}]

    assert seqpipe("status", "--sample", SAMPLE).returncode == 3
    assert seqpipe("qc", "--sample", SAMPLE).returncode == 3
    assert SAMPLE not in seqpipe("status", "RUN_0002", "--json").stdout
    assert seqpipe("qc", "--sample", "S00007", "--json").json()  # other samples untouched

    (record,) = aws("dynamodb").scan(TableName=settings.audit_table)["Items"]
    assert record["sample"]["S"] == SAMPLE and record["status"]["S"] == "SUCCEEDED"
    assert record["requested_by"]["S"] == aws("sts").get_caller_identity()["Arn"]
    assert record["reason"]["S"] == "consent withdrawn (ticket 812)"
    # raw: 2 runs × 2 reads; processed: 4 outputs; delivered: 3; and the MultiQC report (mixes samples)
    assert int(record["plan"]["M"]["objects"]["N"]) == 4 + 4 + 3 + 1


def test_erase_reaches_raws_replica_in_another_region(seqpipe, demo, settings, aws, monkeypatch):
    s3 = aws("s3")
    replica = "seqpipe-raw-replica-eu"
    s3.create_bucket(Bucket=replica, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    s3.put_bucket_versioning(Bucket=replica, VersioningConfiguration={"Status": "Enabled"})
    _prepare_sample_everywhere(seqpipe, settings, aws)
    # what replication copied: every raw version under the same key (deletes are never replicated)
    for version in s3.list_object_versions(Bucket=settings.raw_bucket)["Versions"]:
        body = s3.get_object(Bucket=settings.raw_bucket, Key=version["Key"], VersionId=version["VersionId"])
        s3.put_object(Bucket=replica, Key=version["Key"], Body=body["Body"].read())
    monkeypatch.setenv("RAW_REPLICA_BUCKET", replica)

    result = seqpipe("erase", SAMPLE, "--reason", "consent withdrawn", "--yes")

    assert result.returncode == 0, result.stderr
    left = s3.list_object_versions(Bucket=replica).get("Versions", [])
    assert [v["Key"] for v in left] == ["DEMO/RUN_0002/S00007/S00007_R1.fastq.gz"]  # another sample's
    (record,) = aws("dynamodb").scan(TableName=settings.audit_table)["Items"]
    assert int(record["plan"]["M"]["objects"]["N"]) == 4 + 4 + 4 + 3 + 1  # raw, replica, processed, …


def test_erasing_an_unknown_sample_is_exit_3(seqpipe, demo):
    result = seqpipe("erase", "NOPE", "--reason", "test", "--yes")
    assert result.returncode == 3 and "unknown sample 'NOPE'" in result.stderr
