"""The reference bundle in a host cache: fetched from S3 once per compute host, verified, shared by jobs.

The bundle is a directory of the run's outputs (``results/reference/``: FASTA, .fai, .dict, the
aligner index, .alt where present) with a manifest, ``bundle.sha256``, listing each file's size and
SHA-256. A job that needs the reference runs ``python -m seqpipe.storage.reference_cache BUNDLE DIR``
first:

* the manifest (a few hundred bytes) is read from S3; its own SHA-256 names the bundle in the cache,
  so runs that share a reference share its cache entry;
* under an exclusive lock on that name, the first job on a host downloads every file into a scratch
  directory of the cache, checks its size and SHA-256 against the manifest, and renames the scratch
  directory into place; jobs that started meanwhile wait on the lock, then find the entry complete;
* a file whose checksum does not match fails the job, naming the file and both checksums, and its
  scratch directory is removed: nothing half-fetched is ever taken for the bundle, so the next job
  fetches again;
* DIR (the path the rule's tools are given, the same relative path as on a laptop) then holds
  symbolic links into the cache.

The cache is ``$SEQPIPE_REFERENCE_CACHE``, else a directory in the user's home. On AWS Batch it is
HOST_CACHE, a volume of the compute host that every task container sees (infra/seqpipe_infra/
host_cache.py).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from seqpipe.storage.checksums import CHUNK
from seqpipe.storage.s3 import S3Uri, client

MANIFEST = "bundle.sha256"
HEADER = "name\tbytes\tsha256"
CACHE_VARIABLE = "SEQPIPE_REFERENCE_CACHE"
HOST_CACHE = "/var/lib/seqpipe/reference-cache"


class ChecksumMismatch(RuntimeError):
    """A fetched file is not the one the bundle's manifest describes."""


@dataclass(frozen=True)
class BundleFile:
    name: str
    size: int
    sha256: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def describe(paths: Iterable[str | Path]) -> list[BundleFile]:
    return [BundleFile(Path(p).name, Path(p).stat().st_size, sha256_of(Path(p))) for p in paths]


def write_manifest(paths: Iterable[str | Path], out: str | Path) -> list[BundleFile]:
    """The manifest of a bundle directory's files (written where the files are, by the reference rules)."""
    files = describe(paths)
    lines = [HEADER, *(f"{f.name}\t{f.size}\t{f.sha256}" for f in files)]
    Path(out).write_text("\n".join(lines) + "\n")
    return files


def read_manifest(text: str, source: str) -> list[BundleFile]:
    lines = text.splitlines()
    if not lines or lines[0] != HEADER:
        raise ValueError(f"{source}: not a reference bundle manifest (first line {lines[:1]!r})")
    files = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 3 or not fields[1].isdigit() or len(fields[2]) != 64:
            raise ValueError(f"{source}, line {number}: expected name, bytes and sha256, got {line!r}")
        files.append(BundleFile(fields[0], int(fields[1]), fields[2]))
    return files


def cache_root(environ: Mapping[str, str]) -> Path:
    configured = environ.get(CACHE_VARIABLE)
    return Path(configured) if configured else Path.home() / ".cache" / "seqpipe" / "reference"


def fetch(bundle: S3Uri, cache: Path) -> tuple[Path, list[BundleFile]]:
    """The bundle's directory in ``cache``, downloaded and verified by the first job on this host."""
    manifest_uri = bundle.join(MANIFEST)
    manifest = client("s3").get_object(Bucket=manifest_uri.bucket, Key=manifest_uri.key)["Body"].read()
    files = read_manifest(manifest.decode(), str(manifest_uri))
    entry = cache / hashlib.sha256(manifest).hexdigest()[:24]
    if entry.is_dir():  # entries appear by rename, complete
        return entry, files
    cache.mkdir(parents=True, exist_ok=True)
    with open(f"{entry}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not entry.is_dir():
            _download(bundle, files, entry)
    return entry, files


def _download(bundle: S3Uri, files: Sequence[BundleFile], entry: Path) -> None:
    scratch = Path(tempfile.mkdtemp(prefix=f"{entry.name}.partial-", dir=entry.parent))
    try:
        for expected in files:
            uri = bundle.join(expected.name)
            target = scratch / expected.name
            print(f"seqpipe.storage.reference_cache: fetching {uri}", file=sys.stderr, flush=True)
            client("s3").download_file(uri.bucket, uri.key, str(target))
            actual = sha256_of(target)
            if actual != expected.sha256 or target.stat().st_size != expected.size:
                raise ChecksumMismatch(
                    f"{uri}: sha256 {actual} ({target.stat().st_size} bytes), but the bundle's manifest "
                    f"{bundle.join(MANIFEST)} says sha256 {expected.sha256} ({expected.size} bytes); "
                    "nothing was cached"
                )
        scratch.chmod(0o755)  # mkdtemp's 0700 would hide the entry from jobs running as other users
        os.rename(scratch, entry)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def link(entry: Path, files: Iterable[BundleFile], into: Path) -> None:
    """Symbolic links in ``into`` to the cached files, replaced atomically (jobs may share ``into``)."""
    into.mkdir(parents=True, exist_ok=True)
    for f in files:
        scratch = into / f".{f.name}.{os.getpid()}"
        scratch.unlink(missing_ok=True)
        scratch.symlink_to(entry.resolve() / f.name)
        os.replace(scratch, into / f.name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m seqpipe.storage.reference_cache",
        description="Fetch a reference bundle into this host's cache (once) and link it into a directory.",
    )
    parser.add_argument("bundle", help="s3:// prefix of the bundle (the directory holding bundle.sha256)")
    parser.add_argument("into", type=Path, help="directory to hold links to the cached files")
    args = parser.parse_args(argv)
    cache = cache_root(os.environ)
    try:
        entry, files = fetch(S3Uri.parse(args.bundle.rstrip("/")), cache)
    except ChecksumMismatch as error:
        print(f"seqpipe.storage.reference_cache: {error}", file=sys.stderr)
        return 1
    link(entry, files, args.into)
    print(f"seqpipe.storage.reference_cache: {args.into} -> {entry}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
