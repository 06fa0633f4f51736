"""`seqpipe erase` on a run recorded through the data plane's code paths, with every file the real
workflow writes (tests/support/erasure_run.py), against the local AWS endpoint."""

from __future__ import annotations

import json

import pytest
from erasure_run import RUN, RUN_FOLDER_KEY, SAMPLES, UNASSIGNED_KEYS, record_run, stored_keys
from workflow_layout import GROUPS, workflow_files

from seqpipe.aws.audit import AuditStatus
from seqpipe.aws.repositories import Repositories
from seqpipe.output_tree import MIXED_OUTPUTS, QC_SUMMARY_FILES

pytestmark = pytest.mark.aws
GROUP_OF = {sample: group for group, members in GROUPS.items() for sample in members}


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory):
    return workflow_files(tmp_path_factory.mktemp("layout"))


@pytest.fixture
def run(aws, settings, layout):
    return record_run(aws, settings, layout)


@pytest.fixture
def run_with_locked_raw(aws, settings, layout):
    """The same run in a raw bucket with Object Lock enabled (S3 allows it on a new bucket only)."""
    s3 = aws("s3")
    s3.put_bucket_versioning(Bucket=settings.raw_bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(
        Bucket=settings.raw_bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}
    )
    return record_run(aws, settings, layout)


def _audit(aws, settings) -> list[dict]:
    return aws("dynamodb").scan(TableName=settings.audit_table)["Items"]


def test_erasure_removes_every_copy_of_the_sample_and_keeps_the_others(seqpipe, settings, aws, run):
    s3 = aws("s3")
    processed_before = stored_keys(s3, settings.processed_bucket)
    plan = seqpipe("erase", "A", "--reason", "consent withdrawn", "--dry-run", "--json").json()
    assert plan["runs"] == [RUN] and not plan["blocked_by"]
    assert plan["retained"] == [f"s3://{settings.raw_bucket}/{RUN_FOLDER_KEY.rsplit('/', 1)[0]}/"]

    result = seqpipe("erase", "A", "--reason", "consent withdrawn (ticket 812)", "--yes", "--json")

    assert result.returncode == 0, result.stderr
    outcome = result.json()
    assert outcome["status"] == "SUCCEEDED" and outcome["remaining"] == []
    processed = stored_keys(s3, settings.processed_bucket)
    for file in run.files:
        keys = [f"{run.outputs}/{file.path}"] + ([f"{run.work}/{file.path}"] if file.temp else [])
        mixed = any(p.fullmatch(file.path.removeprefix("results/")) for p in MIXED_OUTPUTS)
        gone = file.sample == "A" or file.group == GROUP_OF["A"] or mixed
        for key in keys:
            assert (key not in processed) == gone, (key, file)
    assert not {k for k in processed_before - processed if k.startswith("vcf/")} ^ {
        "vcf/P1/RUN_L/A/A.norm.vcf.gz",
        "vcf/P1/RUN_L/A/A.norm.vcf.gz.tbi",
        "vcf/P1/RUN_L/A/A.norm.vcf.gz.summary.json",
    }
    summary = json.loads(
        s3.get_object(Bucket=settings.processed_bucket, Key=f"{run.outputs}/results/qc/qc_summary.json")[
            "Body"
        ].read()
    )
    assert sorted(summary["samples"]) == ["B", "C"]
    for name in QC_SUMMARY_FILES:
        key = f"{run.outputs}/results/{name}"
        versions = s3.list_object_versions(Bucket=settings.processed_bucket, Prefix=key)["Versions"]
        body = s3.get_object(Bucket=settings.processed_bucket, Key=key)["Body"].read().decode()
        assert len(versions) == 1 and not any(line.split("\t")[0] == "A" for line in body.splitlines())
        assert any(line.startswith("B\t") for line in body.splitlines()) or name.endswith(".json")

    raw = stored_keys(s3, settings.raw_bucket)
    assert not raw & set(run.raw_keys["A"])
    assert set(run.raw_keys["B"]) | set(run.raw_keys["C"]) | set(run.raw_keys["AB"]) <= raw
    assert UNASSIGNED_KEYS["A"] not in raw and RUN_FOLDER_KEY in raw

    delivery = stored_keys(s3, settings.delivery_bucket)
    assert not any(k.startswith(f"{RUN}/A/") for k in delivery) and any(
        k.startswith(f"{RUN}/B/") for k in delivery
    )
    manifest = s3.get_object(Bucket=settings.delivery_bucket, Key=f"{RUN}/manifest.json")["Body"].read()
    assert json.loads(manifest)["samples"] == ["B", "C"] and b'"A"' not in manifest
    assert (
        len(
            s3.list_object_versions(Bucket=settings.delivery_bucket, Prefix=f"{RUN}/manifest.json")[
                "Versions"
            ]
        )
        == 1
    )

    repos = Repositories.from_settings(settings)
    item = repos.jobs.get(RUN)
    assert item["samples"] == ["B", "C"] and item["delivery"]["samples"] == ["B", "C"]
    assert not any("/A/" in uri for uri in item["inputs"]) and len(item["inputs"]) == 2
    assert repos.metadata.sample_history("A").items == [] and repos.quality.of_sample("A") == []
    unassigned = {f["uri"].rsplit("/", 1)[-1] for f in repos.metadata.files_of_sample("unassigned")}
    assert unassigned == {"B_S2_L001_R1_001.fastq.gz", "AB_S3_L001_R1_001.fastq.gz"}
    assert repos.quality.of_sample("B") and repos.metadata.sample_history("B").files

    (record,) = _audit(aws, settings)
    assert record["status"]["S"] == "SUCCEEDED" and record["sample"]["S"] == "A"
    assert record["requested_by"]["S"] == aws("sts").get_caller_identity()["Arn"]
    assert record["remaining"]["L"] == [] and record["reason"]["S"] == "consent withdrawn (ticket 812)"


def test_a_refused_delete_leaves_the_erasure_failed_with_what_remains(
    seqpipe, settings, aws, run_with_locked_raw
):
    """A legal hold (Object Lock) makes S3 refuse to delete one version of A's reads."""
    s3, run = aws("s3"), run_with_locked_raw
    key = run.raw_keys["A"][0]
    s3.put_object_legal_hold(Bucket=settings.raw_bucket, Key=key, LegalHold={"Status": "ON"})

    result = seqpipe("erase", "A", "--reason", "consent withdrawn", "--yes")

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"not erased: s3://{settings.raw_bucket}/{key}?versionId=" in result.stderr
    assert "AccessDenied" in result.stderr
    (record,) = _audit(aws, settings)
    assert record["status"]["S"] == AuditStatus.FAILED
    remaining = [entry["M"]["what"]["S"] for entry in record["remaining"]["L"]]
    assert any(what.startswith(f"s3://{settings.raw_bucket}/{key}?versionId=") for what in remaining)
    assert f"s3://{settings.raw_bucket}/{key}" not in [e["S"] for e in record["erased"]["M"]["objects"]["L"]]
    # the records stay, so that a second attempt (after the hold is lifted) finds what is left
    repos = Repositories.from_settings(settings)
    assert repos.metadata.sample_history("A").files
    s3.put_object_legal_hold(Bucket=settings.raw_bucket, Key=key, LegalHold={"Status": "OFF"})
    again = seqpipe("erase", "A", "--reason", "consent withdrawn, hold lifted", "--yes")
    assert again.returncode == 0, again.stderr
    assert key not in stored_keys(s3, settings.raw_bucket) and not repos.metadata.sample_history("A").items
    assert sorted(r["status"]["S"] for r in _audit(aws, settings)) == ["FAILED", "SUCCEEDED"]


@pytest.mark.parametrize("name", ["qc", "sample"])
def test_a_sample_named_like_a_folder_erases_only_its_own_files(seqpipe, settings, aws, run, name):
    """The old code took `/{sample}/` anywhere in a path: a sample called `qc` took every sample's QC.
    Its records are written as code before the reserved names allowed (the schema and the raw layout
    refuse the name now)."""
    s3 = aws("s3")
    repos = Repositories.from_settings(settings)
    repos.metadata.register_sample(name, "P1")
    repos.metadata.add_sample_to_run(name, RUN, "P1")
    own = [f"{run.outputs}/results/cram/{name}.cram", f"{run.outputs}/results/qc/samtools/{name}.stats"]
    for key in own:
        s3.put_object(Bucket=settings.processed_bucket, Key=key, Body=b"legacy sample")
    others = stored_keys(s3, settings.processed_bucket) - set(own)
    mixed = {k for k in others if any(p.fullmatch(k.split("/results/", 1)[-1]) for p in MIXED_OUTPUTS)}

    result = seqpipe("erase", name, "--reason", "legacy id", "--yes", "--json")

    assert result.returncode == 0, result.stderr
    left = stored_keys(s3, settings.processed_bucket)
    assert not set(own) & left
    assert others - mixed <= left  # every other sample's file is still there
    assert set(SAMPLES) <= set(repos.jobs.get(RUN)["samples"])


def test_the_audit_record_is_written_before_anything_is_erased_and_a_crash_leaves_it(
    seqpipe, settings, aws, run, aws_via_proxy
):
    """The endpoint stops answering DeleteObjects (the connection drops): the command dies, and the
    STARTED record written before the first delete is the trace of the attempt."""
    from aws_proxy import FaultRule

    aws_via_proxy.inject(FaultRule(service="s3", operation="DeleteObjects", drop=True))

    result = seqpipe("erase", "A", "--reason", "consent withdrawn", "--yes")

    assert result.returncode == 5, result.stdout + result.stderr
    served = [(r.service, r.operation) for r in aws_via_proxy.requests()]
    first_delete = served.index(("s3", "DeleteObjects"))
    assert ("dynamodb", "PutItem") in served[:first_delete]
    (record,) = _audit(aws, settings)
    assert record["status"]["S"] == "STARTED" and record["sample"]["S"] == "A"
    assert set(run.raw_keys["A"]) <= stored_keys(aws("s3"), settings.raw_bucket)
