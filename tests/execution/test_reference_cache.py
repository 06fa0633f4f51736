"""The reference bundle is fetched from S3 once per compute host (seqpipe.storage.reference_cache),
against the local endpoint through the counting proxy: many concurrent jobs on two emulated hosts
(two cache directories) download each file exactly twice; a file whose checksum does not match fails
the job naming it and both checksums, and leaves nothing in the cache that a later job would trust."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqpipe.storage.reference_cache import MANIFEST, read_manifest, write_manifest

pytestmark = pytest.mark.aws

BUCKET = "reference-cache"
BUNDLE = "runs/r1/results/reference"
JOBS_PER_HOST = 4


@pytest.fixture
def bundle(aws_via_proxy, aws, tmp_path: Path) -> dict[str, bytes]:
    """A reference bundle in S3: FASTA, index files and the manifest the reference rules write."""
    files = {
        "genome.fa": b">chr1\n" + b"ACGT" * 250_000 + b"\n",
        "genome.fa.fai": b"chr1\t1000000\t6\t1000000\t1000001\n",
        "genome.fa.bwt": os.urandom(700_000),
        "genome.fa.sa": os.urandom(350_000),
    }
    local = tmp_path / "bundle"
    local.mkdir()
    for name, data in files.items():
        (local / name).write_bytes(data)
    write_manifest([local / name for name in files], local / MANIFEST)
    s3 = aws("s3")
    s3.create_bucket(Bucket=BUCKET)
    for path in local.iterdir():
        s3.upload_file(str(path), BUCKET, f"{BUNDLE}/{path.name}")
    aws_via_proxy.reset()
    return files


def fetch(cache: Path, into: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "seqpipe.storage.reference_cache", f"s3://{BUCKET}/{BUNDLE}", str(into)]
    env = dict(os.environ, SEQPIPE_REFERENCE_CACHE=str(cache))
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def downloads(proxy, name: str) -> int:
    """Whole downloads of a bundle file, in bytes served over its size."""
    path = f"/{BUCKET}/{BUNDLE}/{name}"
    return sum(r.bytes_out for r in proxy.requests() if r.operation == "GetObject" and r.path == path)


def test_concurrent_jobs_on_two_hosts_download_the_bundle_twice(
    bundle: dict[str, bytes], aws_via_proxy, tmp_path: Path
) -> None:
    hosts = [tmp_path / "host-a", tmp_path / "host-b"]
    workdirs = [
        (host, tmp_path / f"job-{host.name}-{n}" / "reference")
        for n in range(JOBS_PER_HOST)
        for host in hosts
    ]
    jobs = [(host, into, fetch(host, into)) for host, into in workdirs]  # all at once
    for _, _, process in jobs:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr

    for name, data in bundle.items():
        assert downloads(aws_via_proxy, name) == 2 * len(data), name
    manifests = [r for r in aws_via_proxy.requests() if r.path.endswith(f"/{MANIFEST}")]
    assert len(manifests) == len(jobs), "every job reads the manifest, and only that, once it is cached"
    for host in hosts:
        entries = [p for p in host.iterdir() if p.is_dir()]
        assert len(entries) == 1, entries
    for host, into, _ in jobs:
        for name, data in bundle.items():
            link = into / name
            assert link.is_symlink() and link.resolve().parent.parent == host.resolve()
            assert link.read_bytes() == data


def test_a_file_that_does_not_match_its_checksum_fails_and_is_not_cached(
    bundle: dict[str, bytes], aws, aws_via_proxy, tmp_path: Path
) -> None:
    s3 = aws("s3")
    corrupt = b"chr1\t999\t6\t60\t61\n"
    s3.put_object(Bucket=BUCKET, Key=f"{BUNDLE}/genome.fa.fai", Body=corrupt)
    manifest = read_manifest((tmp_path / "bundle" / MANIFEST).read_text(), MANIFEST)
    expected = next(f.sha256 for f in manifest if f.name == "genome.fa.fai")
    host = tmp_path / "host"

    failed = fetch(host, tmp_path / "job-1")
    _, stderr = failed.communicate(timeout=120)

    assert failed.returncode == 1
    assert f"s3://{BUCKET}/{BUNDLE}/genome.fa.fai" in stderr
    assert expected in stderr and hashlib.sha256(corrupt).hexdigest() in stderr
    assert not [p for p in host.iterdir() if p.is_dir()], "a half-fetched bundle was left in the cache"
    assert not (tmp_path / "job-1" / "genome.fa").exists()

    s3.put_object(Bucket=BUCKET, Key=f"{BUNDLE}/genome.fa.fai", Body=bundle["genome.fa.fai"])
    fixed = fetch(host, tmp_path / "job-2")
    _, stderr = fixed.communicate(timeout=120)

    assert fixed.returncode == 0, stderr
    assert (tmp_path / "job-2" / "genome.fa.fai").read_bytes() == bundle["genome.fa.fai"]
    assert downloads(aws_via_proxy, "genome.fa") == 2 * len(bundle["genome.fa"]), (
        "the later job fetched again"
    )
