"""htslib tools (samtools, bcftools, freebayes, mosdepth) reading S3 objects where they lie.

Under S3 storage a rule declares the CRAMs it reads with ``storage(..., retrieve=False)``: Snakemake
checks that they exist but does not download them, and gives the command their ``s3://`` URLs.
``python -m seqpipe.storage.htslib URL... -- COMMAND`` runs COMMAND with each URL replaced by what
htslib should open:

* the local copy (``.snakemake/storage/s3/<bucket>/<key>``) when this job's machine has one that is
  not older than the object, as Snakemake leaves it after writing or downloading the object;
* otherwise the object's URL in htslib's form, which htslib reads with ranged GETs: a region costs its
  blocks and the index, never the whole file.

Before COMMAND starts, every object is checked to be readable, so a missing object or a denied read
fails with the URL and the S3 error rather than a bare htslib message. htslib learns the endpoint
(``HTS_S3_HOST``), the addressing style and the credentials from here: boto3 resolves them as every
other part of the job does (environment, job role), and they go to htslib in a private credentials
file that a background thread rewrites while COMMAND runs, so temporary job-role credentials outlive
a calling job of several hours (htslib rereads the file shortly before the ``expiry_time`` written
in it).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import ClientError

from seqpipe.storage.s3 import S3Uri, client

# Snakemake's S3 storage plugin keeps local copies at <local storage prefix>/s3/<bucket>/<key>.
LOCAL_COPIES = Path(".snakemake/storage/s3")
# htslib rereads its credentials file when less than 60 s remain before the file's expiry_time. The file
# is rewritten every REWRITE with an expiry_time STATED ahead; boto3 refreshes job-role credentials that
# expire within 15 minutes, so what is written stays valid for longer than htslib keeps it.
STATED = timedelta(minutes=5)
REWRITE = timedelta(minutes=2)
PROFILE = "seqpipe"
INDEX_SUFFIX = {".cram": ".crai", ".bam": ".bai"}
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_PROFILE",
)


class UnreadableObject(RuntimeError):
    """An object a command should read does not exist or may not be read."""


@dataclass(frozen=True)
class Endpoint:
    """The S3 endpoint as htslib addresses it."""

    host: str  # host[:port], HTS_S3_HOST
    secure: bool
    path_style: bool  # a custom endpoint (AWS_ENDPOINT_URL, e.g. the local test endpoint): path style

    @classmethod
    def of_client(cls, s3: Any, environ: Mapping[str, str]) -> Endpoint:
        url = urlsplit(s3.meta.endpoint_url)
        return cls(url.netloc, url.scheme == "https", bool(environ.get("AWS_ENDPOINT_URL")))

    def url(self, uri: S3Uri) -> str:
        """The URL htslib opens: s3:// is https; a plain-http endpoint needs s3+http://."""
        return f"s3://{uri.bucket}/{uri.key}" if self.secure else f"s3+http://{uri.bucket}/{uri.key}"

    def environment(self) -> dict[str, str]:
        settings = {"HTS_S3_HOST": self.host}
        if self.path_style:
            settings["HTS_S3_ADDRESS_STYLE"] = "path"
        return settings


def local_copy(uri: S3Uri, local_copies: Path = LOCAL_COPIES) -> Path:
    """Where Snakemake's S3 storage plugin keeps a copy of the object."""
    return local_copies / uri.bucket / uri.key


def last_modified(uri: S3Uri) -> datetime:
    """When the object was written; UnreadableObject naming the URL and S3's answer if it cannot be read."""
    try:
        head = client("s3").head_object(Bucket=uri.bucket, Key=uri.key)
    except ClientError as error:
        answer = error.response.get("Error", {})
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        said = " ".join(filter(None, (answer.get("Code"), answer.get("Message"))))
        raise UnreadableObject(f"cannot read {uri}: S3 answered HTTP {status} ({said})") from None
    return head["LastModified"]


def resolve(uri: S3Uri, local_copies: Path = LOCAL_COPIES) -> Path | None:
    """The local copy to read instead of the object, if there is a current one.

    A copy is current unless the object is newer: Snakemake sets a copy's mtime to its object's after
    every upload and download, so an older copy is one a later job replaced in S3. An alignment file's
    copy counts only beside a copy of its index, which htslib looks for there.
    """
    copy = local_copy(uri, local_copies)
    index = INDEX_SUFFIX.get(copy.suffix)
    if not copy.exists() or (index and not Path(f"{copy}{index}").exists()):
        last_modified(uri)
        return None
    try:
        modified = last_modified(uri)
    except UnreadableObject:
        return copy  # written on this machine and not uploaded yet
    return None if modified.timestamp() > copy.stat().st_mtime + 1 else copy


def credentials_text(access_key: str, secret_key: str, token: str | None, expiry: datetime | None) -> str:
    lines = [f"[{PROFILE}]", f"aws_access_key_id = {access_key}", f"aws_secret_access_key = {secret_key}"]
    if token:
        lines.append(f"aws_session_token = {token}")
    if expiry is not None:
        lines.append(f"expiry_time = {expiry.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}")
    return "\n".join(lines) + "\n"


class CredentialsFile:
    """The job's credentials in a private file in htslib's format; refreshed while a command runs."""

    def __init__(self, directory: Path, credentials: Any) -> None:
        self.path = directory / "credentials"
        self.credentials = credentials
        self.refreshing = isinstance(credentials, RefreshableCredentials)
        self._stop = threading.Event()
        self.write()

    def write(self) -> None:
        frozen = self.credentials.get_frozen_credentials()
        expiry = datetime.now(UTC) + STATED if self.refreshing else None
        text = credentials_text(frozen.access_key, frozen.secret_key, frozen.token, expiry)
        scratch = self.path.with_suffix(".new")
        scratch.write_text(text)
        scratch.chmod(0o600)
        os.replace(scratch, self.path)

    def keep_fresh(self) -> threading.Thread | None:
        if not self.refreshing:
            return None

        def loop() -> None:
            while not self._stop.wait(REWRITE.total_seconds()):
                self.write()

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


def child_environment(environ: Mapping[str, str], endpoint: Endpoint, credentials: Path) -> dict[str, str]:
    """htslib's settings; credentials come from the file, so none are left in the environment."""
    env = {k: v for k, v in environ.items() if k not in CREDENTIAL_VARIABLES}
    env.update(endpoint.environment())
    env.update({"AWS_SHARED_CREDENTIALS_FILE": str(credentials), "AWS_PROFILE": PROFILE})
    region = client("s3").meta.region_name
    if region:
        env["AWS_DEFAULT_REGION"] = region
    return env


def run(urls: Sequence[str], command: Sequence[str], local_copies: Path = LOCAL_COPIES) -> int:
    """Run ``command`` with each of ``urls`` read where it lies; its exit status."""
    s3 = client("s3")
    endpoint = Endpoint.of_client(s3, os.environ)
    replace: dict[str, str] = {}
    for url in urls:
        uri = S3Uri.parse(url)
        copy = resolve(uri, local_copies)
        replace[url] = str(copy) if copy else endpoint.url(uri)
        where = f"from its local copy {copy}" if copy else "in place"
        print(f"seqpipe.storage.htslib: reading {uri} {where}", file=sys.stderr)
    argv = [replace.get(arg, arg) for arg in command]
    if all(replace[url] != endpoint.url(S3Uri.parse(url)) for url in urls):
        return subprocess.call(argv)
    with tempfile.TemporaryDirectory(prefix="seqpipe-htslib-") as scratch:
        credentials = CredentialsFile(Path(scratch), boto3.session.Session().get_credentials())
        credentials.keep_fresh()
        child = subprocess.Popen(argv, env=child_environment(os.environ, endpoint, credentials.path))
        forward = lambda signum, _frame: child.send_signal(signum)  # noqa: E731
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, forward)
        try:
            return child.wait()
        finally:
            credentials.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m seqpipe.storage.htslib",
        description="Run an htslib tool on S3 objects in place: URL... -- COMMAND [ARG...]",
    )
    parser.add_argument("--local-copies", type=Path, default=LOCAL_COPIES, help="Snakemake's S3 local copies")
    parser.add_argument("urls", nargs="*", help="s3:// URLs of the objects COMMAND reads")
    args, rest = argv_split(sys.argv[1:] if argv is None else list(argv))
    options = parser.parse_args(args)
    if not rest:
        parser.error("no command after --")
    try:
        return run(options.urls, rest, options.local_copies)
    except (UnreadableObject, ValueError) as error:
        print(f"seqpipe.storage.htslib: {error}", file=sys.stderr)
        return 1


def argv_split(argv: list[str]) -> tuple[list[str], list[str]]:
    """Our arguments and the command, split at the first ``--``."""
    if "--" not in argv:
        return argv, []
    at = argv.index("--")
    return argv[:at], argv[at + 1 :]


if __name__ == "__main__":
    sys.exit(main())
