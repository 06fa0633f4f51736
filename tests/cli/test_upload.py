"""`seqpipe upload` through the real entry point: validated, checksummed, resumable, never overwriting."""

from __future__ import annotations

import gzip
import hashlib
import random
from pathlib import Path

import pytest

from seqpipe.transfer import MiB, upload_file


def write_fastq(path: Path, reads: int, seed: int = 1, length: int = 100) -> Path:
    rng = random.Random(seed)
    lines = []
    for i in range(reads):
        bases = "".join(rng.choice("ACGT") for _ in range(length))
        lines.append(f"@read{i}/1\n{bases}\n+\n{'I' * length}\n")
    data = "".join(lines).encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Interrupted(Exception):
    """Stands for a lost connection or Ctrl-C in the middle of an upload."""


def test_a_valid_fastq_is_uploaded_with_its_sha256(seqpipe, settings, aws, tmp_path):
    reads = write_fastq(tmp_path / "S1_R1.fastq.gz", 200)
    result = seqpipe("upload", str(reads), "--to", f"s3://{settings.raw_bucket}/P1/RUN_1/S1/", "--json")
    assert result.returncode == 0, result.stderr
    uploaded = result.json()["uploaded"][0]
    assert uploaded["uri"] == f"s3://{settings.raw_bucket}/P1/RUN_1/S1/S1_R1.fastq.gz"
    assert uploaded["sha256"] == sha256(reads)
    head = aws("s3").head_object(Bucket=settings.raw_bucket, Key="P1/RUN_1/S1/S1_R1.fastq.gz")
    assert head["Metadata"]["sha256"] == sha256(reads) and head["ContentLength"] == reads.stat().st_size


def test_an_existing_object_is_never_overwritten(seqpipe, settings, aws, tmp_path):
    reads = write_fastq(tmp_path / "S1_R1.fastq.gz", 50)
    destination = f"s3://{settings.raw_bucket}/P1/RUN_1/S1/"
    assert seqpipe("upload", str(reads), "--to", destination).returncode == 0
    (tmp_path / "other").mkdir()
    other = write_fastq(tmp_path / "other" / "S1_R1.fastq.gz", 50, seed=2)
    result = seqpipe("upload", str(other), "--to", destination)
    assert result.returncode == 4 and "never overwritten" in result.stderr
    body = aws("s3").get_object(Bucket=settings.raw_bucket, Key="P1/RUN_1/S1/S1_R1.fastq.gz")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == sha256(reads)


def test_a_file_failing_quick_validation_is_refused_before_anything_is_sent(seqpipe, settings, aws, tmp_path):
    good = write_fastq(tmp_path / "S1_R1.fastq.gz", 20)
    bad = tmp_path / "S1_R2.fastq.gz"
    bad.write_bytes(good.read_bytes()[:-30])  # truncated gzip: no end-of-member
    result = seqpipe("upload", str(good), str(bad), "--to", f"s3://{settings.raw_bucket}/P1/RUN_1/S1/")
    assert result.returncode == 4
    assert "S1_R2.fastq.gz" in result.stderr and "nothing was uploaded" in result.stderr
    assert aws("s3").list_objects_v2(Bucket=settings.raw_bucket).get("KeyCount", 0) == 0
    assert aws("s3").list_multipart_uploads(Bucket=settings.raw_bucket).get("Uploads", []) == []


def test_an_interrupted_multipart_upload_resumes_without_resending_parts(seqpipe, settings, aws, tmp_path):
    reads = write_fastq(tmp_path / "S2_R1.fastq", 52_000)  # ~11 MiB plain FASTQ: three 5 MiB parts
    assert reads.stat().st_size > 2 * 5 * MiB
    done: list[int] = []

    def fail_after_first_part(nbytes: int) -> None:
        done.append(nbytes)
        raise Interrupted

    with pytest.raises(Interrupted):
        upload_file(
            reads,
            settings.raw_bucket,
            "P1/RUN_1/S2/S2_R1.fastq",
            part_size=5 * MiB,
            progress=fail_after_first_part,
        )
    assert aws("s3").list_multipart_uploads(Bucket=settings.raw_bucket)["Uploads"]

    result = seqpipe(
        "upload",
        str(reads),
        "--to",
        f"s3://{settings.raw_bucket}/P1/RUN_1/S2/S2_R1.fastq",
        "--part-size",
        "5",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    uploaded = result.json()["uploaded"][0]
    assert uploaded["parts"] == 3 and uploaded["resumed_parts"] == 1
    assert uploaded["etag"].endswith("-3")
    body = aws("s3").get_object(Bucket=settings.raw_bucket, Key="P1/RUN_1/S2/S2_R1.fastq")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == sha256(reads) == uploaded["sha256"]
    assert aws("s3").list_multipart_uploads(Bucket=settings.raw_bucket).get("Uploads", []) == []


def test_progress_is_shown_on_stderr(seqpipe, settings, tmp_path):
    reads = write_fastq(tmp_path / "S3_R1.fastq.gz", 20)
    result = seqpipe("upload", str(reads), "--to", f"s3://{settings.raw_bucket}/P1/RUN_1/S3/")
    assert result.returncode == 0
    assert "S3_R1.fastq.gz" in result.stderr  # the progress bar's label
    assert result.stdout.startswith(f"s3://{settings.raw_bucket}/P1/RUN_1/S3/S3_R1.fastq.gz")


def test_a_config_needs_the_flag_and_a_bad_sequencing_file_is_refused_even_with_it(
    seqpipe, settings, tmp_path
):
    config = tmp_path / "config.yaml"
    config.write_text("samples: samples.tsv\n")
    destination = f"s3://{settings.raw_bucket}/P1/RUN_1/config.yaml"
    refused = seqpipe("upload", str(config), "--to", destination)
    assert refused.returncode == 4 and "not a recognised sequencing format" in refused.stderr
    assert seqpipe("upload", str(config), "--to", destination, "--allow-other-formats").returncode == 0

    bad = tmp_path / "S1_R1.fastq.gz"
    bad.write_bytes(write_fastq(tmp_path / "ok.fastq.gz", 20).read_bytes()[:-30])
    result = seqpipe(
        "upload", str(bad), "--to", f"s3://{settings.raw_bucket}/P1/RUN_1/S1/", "--allow-other-formats"
    )
    assert result.returncode == 4


def test_uploaded_files_show_their_sha256_on_the_sample_page_once_the_data_plane_records_them(
    seqpipe, settings, aws, tmp_path
):
    """upload → (S3 event → validation-handler, called here directly, twice: S3 delivers at least
    once) → one record per file with ETag and SHA-256 → dashboard sample page and API."""
    from fastapi.testclient import TestClient

    from seqpipe.aws.ingest import ObjectVersion, ingest_object
    from seqpipe.aws.repositories import Repositories
    from seqpipe.web.app import create_app
    from seqpipe.web.auth import issue_token

    single = write_fastq(tmp_path / "S9_R1.fastq.gz", 100)
    multipart = write_fastq(tmp_path / "S9_R2.fastq", 26_000, seed=2)  # > 5 MiB: two parts
    uploaded = seqpipe(
        "upload", str(single), str(multipart), "--to", f"s3://{settings.raw_bucket}/P1/RUN_9/S9/",
        "--part-size", "5", "--json",
    ).json()["uploaded"]  # fmt: skip
    assert uploaded[1]["etag"].endswith("-2")
    repos = Repositories.from_env()
    for path, upload in zip((single, multipart), uploaded, strict=True):
        key = f"P1/RUN_9/S9/{path.name}"
        version = ObjectVersion(settings.raw_bucket, key, upload["etag"], path.stat().st_size)
        first, again = ingest_object(repos, version), ingest_object(repos, version)
        assert (first["created"], again["created"]) == (True, False)
        assert first["sha256"] == again["sha256"] == sha256(path)

    records = {r["uri"]: r for r in repos.metadata.files_of_sample("S9")}
    assert len(records) == 2
    for path, upload in zip((single, multipart), uploaded, strict=True):
        record = records[f"s3://{settings.raw_bucket}/P1/RUN_9/S9/{path.name}"]
        assert (record["etag"], record["sha256"]) == (upload["etag"], sha256(path))

    app = create_app(secret="s")
    with TestClient(app, headers={"Authorization": f"Bearer {issue_token('s', 't', 60)}"}) as client:
        sample = client.get("/api/samples/S9").json()
        page = client.get("/samples/S9").text
    assert sample["project"] == "P1" and sample["runs"] == ["RUN_9"]
    shown = {f["uri"]: f for f in sample["files"]}
    for path in (single, multipart):
        record = shown[f"s3://{settings.raw_bucket}/P1/RUN_9/S9/{path.name}"]
        assert record["status"] == "VALID" and record["format"].startswith("FASTQ")
        assert record["size"] == path.stat().st_size
        assert record["checksum"] == f"sha256:{sha256(path)}"
        assert f'title="sha256:{sha256(path)}"' in page
