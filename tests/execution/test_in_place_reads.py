"""htslib tools read S3 objects where they lie (seqpipe.storage.htslib), against the local endpoint
through the counting proxy: a region costs ranged GETs of its blocks and the index, never the whole
object; a current local copy costs nothing; a missing or forbidden object stops the command with the
URL and S3's answer before htslib opens it."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pysam
import pytest
from aws_proxy import FaultRule
from botocore.credentials import Credentials, RefreshableCredentials

from seqpipe.storage.htslib import LOCAL_COPIES, CredentialsFile

pytestmark = pytest.mark.aws

BUCKET = "reads-in-place"
KEY = "runs/r1/results/cram/S1.cram"
CONTIGS = {"chr1": 300_000, "chr2": 300_000, "chr3": 300_000}


@pytest.fixture(scope="module")
def cram(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A coordinate-sorted, indexed CRAM of 3 x 20,000 reads, with its reference (real samtools)."""
    folder = tmp_path_factory.mktemp("cram")
    rng = random.Random(7)
    reference = folder / "genome.fa"
    sequences = {name: "".join(rng.choice("ACGT") for _ in range(size)) for name, size in CONTIGS.items()}
    reference.write_text("".join(f">{name}\n{seq}\n" for name, seq in sequences.items()))
    pysam.faidx(str(reference))
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": n, "LN": s} for n, s in CONTIGS.items()]}
    bam = folder / "reads.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        for tid, (name, size) in enumerate(CONTIGS.items()):
            for i, start in enumerate(sorted(rng.randrange(size - 100) for _ in range(20_000))):
                read = pysam.AlignedSegment(out.header)
                read.query_name, read.reference_id, read.reference_start = f"{name}.{i}", tid, start
                read.query_sequence = sequences[name][start : start + 100]
                read.cigarstring, read.mapping_quality, read.flag = "100M", 60, 0
                read.query_qualities = pysam.qualitystring_to_array(
                    "".join(rng.choice("5?I") for _ in range(100))
                )
                out.write(read)
    cram = folder / "S1.cram"
    subprocess.run(["samtools", "view", "-C", "-T", str(reference), "-o", str(cram), str(bam)], check=True)
    subprocess.run(["samtools", "index", str(cram)], check=True)
    return cram


@pytest.fixture
def in_s3(aws_via_proxy, aws, cram: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The CRAM and its index as objects, and a job directory without a local copy of them."""
    s3 = aws("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(cram), BUCKET, KEY)
    s3.upload_file(f"{cram}.crai", BUCKET, f"{KEY}.crai")
    monkeypatch.chdir(tmp_path)
    aws_via_proxy.reset()
    return aws_via_proxy


URL = f"s3://{BUCKET}/{KEY}"  # what Snakemake gives the command for a storage(..., retrieve=False) input


def local_copy() -> Path:
    return LOCAL_COPIES / BUCKET / KEY


def read_in_place(*command: str, url: str = URL) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "seqpipe.storage.htslib", url, "--", *command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def count(cram: Path, region: str) -> subprocess.CompletedProcess:
    reference = cram.with_name("genome.fa")
    return read_in_place("samtools", "view", "-c", "-T", str(reference), URL, region)


def cram_gets(proxy) -> list:
    return [r for r in proxy.requests() if r.operation == "GetObject" and r.path == f"/{BUCKET}/{KEY}"]


def test_a_region_is_read_with_ranged_gets_not_the_whole_object(in_s3, cram: Path) -> None:
    region = "chr3:250000-260000"
    expected = subprocess.run(
        ["samtools", "view", "-c", "-T", str(cram.with_name("genome.fa")), str(cram), region],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    done = count(cram, region)

    assert done.returncode == 0, done.stderr
    assert done.stdout == expected and int(expected) > 0
    assert f"reading {URL} in place" in done.stderr
    gets = cram_gets(in_s3)
    assert gets and all(r.user_agent.startswith("htslib") for r in gets)
    assert any(r.range for r in gets), "the region was not read with a ranged GET"
    read = sum(r.bytes_out for r in gets)
    assert read < cram.stat().st_size / 2, f"{read} of {cram.stat().st_size} bytes read for a 10 kb region"
    index = [r for r in in_s3.requests() if r.operation == "GetObject" and r.path.endswith(".crai")]
    assert [r.bytes_out for r in index] == [Path(f"{cram}.crai").stat().st_size]


def test_a_local_copy_without_its_index_is_not_read(in_s3, cram: Path) -> None:
    local_copy().parent.mkdir(parents=True)
    local_copy().write_bytes(cram.read_bytes())

    done = count(cram, "chr1:1-1000")

    assert done.returncode == 0 and int(done.stdout) > 0, done.stderr
    assert f"reading {URL} in place" in done.stderr


def test_a_current_local_copy_is_read_from_disk(in_s3, cram: Path) -> None:
    local_copy().parent.mkdir(parents=True)
    local_copy().write_bytes(cram.read_bytes())
    Path(f"{local_copy()}.crai").write_bytes(Path(f"{cram}.crai").read_bytes())

    done = count(cram, "chr1:1-1000")

    assert done.returncode == 0 and int(done.stdout) > 0, done.stderr
    assert f"reading {URL} from its local copy" in done.stderr
    assert cram_gets(in_s3) == []


def test_a_local_copy_older_than_its_object_is_not_read(in_s3, cram: Path) -> None:
    local_copy().parent.mkdir(parents=True)
    local_copy().write_bytes(b"stale")
    Path(f"{local_copy()}.crai").write_bytes(b"stale")
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).timestamp()
    os.utime(local_copy(), (an_hour_ago, an_hour_ago))

    done = count(cram, "chr2:1-1000")

    assert done.returncode == 0 and int(done.stdout) > 0, done.stderr
    assert cram_gets(in_s3)


def test_a_missing_object_fails_with_its_url_and_the_s3_error_before_the_tool_runs(in_s3, tmp_path) -> None:
    marker = tmp_path / "ran"

    done = read_in_place("touch", str(marker), url=f"s3://{BUCKET}/runs/r1/results/cram/S9.cram")

    assert done.returncode == 1 and not marker.exists()
    assert f"cannot read s3://{BUCKET}/runs/r1/results/cram/S9.cram" in done.stderr
    assert "HTTP 404" in done.stderr


def test_a_forbidden_object_fails_with_its_url_and_the_s3_error(in_s3, cram: Path) -> None:
    in_s3.inject(FaultRule(service="s3", operation="HeadObject", status=403))

    done = count(cram, "chr1:1-1000")

    assert done.returncode == 1
    assert f"cannot read {URL}: S3 answered HTTP 403" in done.stderr
    assert "samtools" not in done.stderr and cram_gets(in_s3) == []


def test_htslib_gets_the_credentials_from_a_private_file_not_the_environment(in_s3, cram: Path) -> None:
    done = read_in_place("sh", "-c", 'env; cat "$AWS_SHARED_CREDENTIALS_FILE"')

    assert done.returncode == 0, done.stderr
    variables = dict(
        line.split("=", 1) for line in done.stdout.splitlines() if "=" in line and " " not in line
    )
    assert "AWS_ACCESS_KEY_ID" not in variables and "AWS_SECRET_ACCESS_KEY" not in variables
    assert variables["HTS_S3_ADDRESS_STYLE"] == "path"
    assert variables["HTS_S3_HOST"] == in_s3.url.removeprefix("http://")
    assert "aws_access_key_id = testing" in done.stdout
    assert "expiry_time" not in done.stdout, "static credentials do not expire"


def test_job_role_credentials_are_rewritten_with_an_expiry_htslib_rereads(tmp_path: Path) -> None:
    keys = iter(f"key-{n}" for n in range(10))

    def session() -> dict[str, str]:
        # 12 minutes left: inside boto3's refresh window, so every use of the credentials renews them
        expiry = (datetime.now(UTC) + timedelta(minutes=12)).isoformat()
        key = next(keys)
        return {"access_key": key, "secret_key": "s", "token": f"token-{key}", "expiry_time": expiry}

    credentials = RefreshableCredentials.create_from_metadata(session(), session, "container-role")
    written = CredentialsFile(tmp_path, credentials)
    first = written.path.read_text()
    written.write()
    second = written.path.read_text()

    assert "aws_access_key_id = key-" in first and "aws_session_token = token-key-" in first
    assert first.splitlines()[1] != second.splitlines()[1], "the renewed session was not written"
    expiry = datetime.strptime(first.split("expiry_time = ")[1].strip(), "%Y-%m-%dT%H:%M:%SZ")
    assert timedelta(0) < expiry.replace(tzinfo=UTC) - datetime.now(UTC) <= timedelta(minutes=5)
    assert oct(written.path.stat().st_mode & 0o777) == "0o600"
    assert CredentialsFile(tmp_path, Credentials("k", "s")).refreshing is False
