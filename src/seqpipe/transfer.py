"""Upload local files to S3: multipart, checksummed, resumable, never overwriting.

Resuming needs no local state: an interrupted multipart upload stays open in S3, so a second call
finds it (ListMultipartUploads), keeps every part whose size and MD5 (its ETag) match the local file
and sends only the rest. Overwrites are refused twice: a HEAD before starting (clear message, nothing
sent) and `If-None-Match: *` on the final write (no race with a concurrent uploader).
The SHA-256 of the whole file is stored as object metadata `sha256`; the data plane and delivery
manifests use it, and the multipart ETag is checked against the local part MD5s after completion.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

MiB = 1024 * 1024
# S3's minimum part size (all parts but the last); also the threshold for a single PUT.
MIN_PART_SIZE = 5 * MiB
DEFAULT_PART_SIZE = 16 * MiB
MAX_PARTS = 10_000


class TransferError(RuntimeError):
    """An upload that could not be done; the message says why and what to do."""


class ObjectExists(TransferError):
    """The destination key already holds an object; uploads never replace data."""


@dataclass(frozen=True)
class FileDigest:
    size: int
    sha256: str
    part_size: int
    part_md5s: tuple[bytes, ...]

    @property
    def multipart_etag(self) -> str:
        """The ETag S3 gives a multipart object: MD5 of the part MD5s, dash, part count."""
        return f"{hashlib.md5(b''.join(self.part_md5s)).hexdigest()}-{len(self.part_md5s)}"

    def part_range(self, number: int) -> tuple[int, int]:
        """Byte offset and length of part `number` (1-based)."""
        offset = (number - 1) * self.part_size
        return offset, min(self.part_size, self.size - offset)


@dataclass(frozen=True)
class UploadResult:
    source: str
    bucket: str
    key: str
    size: int
    sha256: str
    etag: str
    parts: int
    resumed_parts: int

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


Progress = Callable[[int], None]


def part_size_for(size: int, requested: int = DEFAULT_PART_SIZE) -> int:
    """The requested part size, raised if needed so the file fits in S3's 10,000 parts."""
    if requested < MIN_PART_SIZE:
        raise TransferError(f"part size {requested} is below S3's minimum of {MIN_PART_SIZE} bytes (5 MiB)")
    return max(requested, -(-size // MAX_PARTS))


def digest_file(path: Path, part_size: int) -> FileDigest:
    """One read of the file: SHA-256 of the whole and MD5 of each part."""
    sha = hashlib.sha256()
    md5s: list[bytes] = []
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(part_size):
            sha.update(chunk)
            md5s.append(hashlib.md5(chunk).digest())
            size += len(chunk)
    if not md5s:  # an empty file is one empty part
        md5s.append(hashlib.md5(b"").digest())
    return FileDigest(size=size, sha256=sha.hexdigest(), part_size=part_size, part_md5s=tuple(md5s))


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def object_exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if _error_code(error) in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise
    return True


def _refuse_existing(s3: Any, bucket: str, key: str) -> None:
    if object_exists(s3, bucket, key):
        raise ObjectExists(
            f"s3://{bucket}/{key} already exists; uploads never overwrite (choose another key)"
        )


def _open_upload(s3: Any, bucket: str, key: str) -> str | None:
    """The newest unfinished multipart upload of exactly this key, if any."""
    response = s3.list_multipart_uploads(Bucket=bucket, Prefix=key)
    uploads = [u for u in response.get("Uploads", []) if u["Key"] == key]
    if not uploads:
        return None
    return max(uploads, key=lambda u: u["Initiated"])["UploadId"]


def _uploaded_parts(s3: Any, bucket: str, key: str, upload_id: str) -> dict[int, dict[str, Any]]:
    parts: dict[int, dict[str, Any]] = {}
    for page in s3.get_paginator("list_parts").paginate(Bucket=bucket, Key=key, UploadId=upload_id):
        for part in page.get("Parts", []):
            parts[part["PartNumber"]] = part
    return parts


def _reusable_parts(digest: FileDigest, existing: dict[int, dict[str, Any]]) -> set[int] | None:
    """Part numbers already in S3 with this file's bytes; None if the open upload is of something else."""
    if any(number > len(digest.part_md5s) for number in existing):
        return None
    reusable = set()
    for number, part in existing.items():
        _, length = digest.part_range(number)
        if part["Size"] == length and part["ETag"].strip('"') == digest.part_md5s[number - 1].hex():
            reusable.add(number)
        elif part["Size"] != length:
            return None  # a different part size: parts cannot be mixed
    return reusable


def _read_part(path: Path, digest: FileDigest, number: int) -> bytes:
    offset, length = digest.part_range(number)
    with path.open("rb") as fh:
        fh.seek(offset)
        return fh.read(length)


def _put_single(s3: Any, path: Path, bucket: str, key: str, digest: FileDigest, progress: Progress) -> str:
    body = path.read_bytes()
    if hashlib.md5(body).digest() != digest.part_md5s[0]:
        raise TransferError(f"{path} changed while it was being uploaded; run the upload again")
    response = s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=body,
        ContentMD5=base64.b64encode(digest.part_md5s[0]).decode(),
        Metadata={"sha256": digest.sha256},
        IfNoneMatch="*",
    )
    progress(len(body))
    return response["ETag"].strip('"')


def _put_multipart(
    s3: Any, path: Path, bucket: str, key: str, digest: FileDigest, progress: Progress
) -> tuple[str, int]:
    upload_id = _open_upload(s3, bucket, key)
    reusable: set[int] = set()
    if upload_id is not None:
        found = _reusable_parts(digest, _uploaded_parts(s3, bucket, key, upload_id))
        if found is None:
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            upload_id = None
        else:
            reusable = found
    if upload_id is None:
        upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, Metadata={"sha256": digest.sha256})[
            "UploadId"
        ]

    completed = []
    for number, md5 in enumerate(digest.part_md5s, start=1):
        _, length = digest.part_range(number)
        if number not in reusable:
            body = _read_part(path, digest, number)
            if hashlib.md5(body).digest() != md5:
                raise TransferError(f"{path} changed while it was being uploaded; run the upload again")
            s3.upload_part(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
                ContentMD5=base64.b64encode(md5).decode(),
            )
        completed.append({"PartNumber": number, "ETag": f'"{md5.hex()}"'})
        progress(length)

    response = s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": completed}, IfNoneMatch="*"
    )
    return response["ETag"].strip('"'), len(reusable)


def upload_file(
    path: Path,
    bucket: str,
    key: str,
    *,
    part_size: int = DEFAULT_PART_SIZE,
    progress: Progress | None = None,
    s3: Any = None,
) -> UploadResult:
    """Upload one file to s3://bucket/key; resumes an interrupted upload of the same bytes.

    `progress` is called with the number of bytes done (sent or found already in S3) after each part.
    """
    s3 = s3 or boto3.client("s3")
    progress = progress or (lambda _done: None)
    _refuse_existing(s3, bucket, key)
    digest = digest_file(path, part_size_for(path.stat().st_size, part_size))
    try:
        if digest.size <= digest.part_size:
            etag, resumed = _put_single(s3, path, bucket, key, digest, progress), 0
            expected = digest.part_md5s[0].hex()
        else:
            etag, resumed = _put_multipart(s3, path, bucket, key, digest, progress)
            expected = digest.multipart_etag
    except ClientError as error:
        if _error_code(error) == "PreconditionFailed":
            raise ObjectExists(
                f"s3://{bucket}/{key} was created by someone else during this upload"
            ) from error
        raise
    if etag != expected:
        raise TransferError(
            f"s3://{bucket}/{key}: S3 ETag {etag} does not match the local checksum {expected}"
        )
    stored = s3.head_object(Bucket=bucket, Key=key).get("Metadata", {}).get("sha256")
    if stored != digest.sha256:
        # Only possible when an interrupted upload began from different bytes in parts not yet sent.
        s3.delete_object(Bucket=bucket, Key=key)
        raise TransferError(f"{path} changed since the interrupted upload began; run the upload again")
    return UploadResult(
        source=str(path),
        bucket=bucket,
        key=key,
        size=digest.size,
        sha256=digest.sha256,
        etag=etag,
        parts=len(digest.part_md5s),
        resumed_parts=resumed,
    )
