"""Small S3 helpers shared by the validators, the Lambdas, delivery and the CLI."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

QUARANTINE_TAG = "seqpipe-quarantine"
CHUNK = 8 * 1024 * 1024


def client(service: str) -> Any:
    """A client reused across warm Lambda invocations; the endpoint comes from AWS_ENDPOINT_URL when set.

    The cache is keyed on the endpoint and region too, so a process that points the environment
    elsewhere (tests, the CLI) never talks to a stale endpoint.
    """
    return _client(service, os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_DEFAULT_REGION"))


@cache
def _client(service: str, endpoint: str | None, region: str | None) -> Any:
    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 5}))


def is_s3_uri(location: str) -> bool:
    return location.startswith("s3://")


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Uri:
        if not is_s3_uri(uri):
            raise ValueError(f"{uri!r} is not an s3:// URI")
        bucket, _, key = uri[len("s3://") :].partition("/")
        if not bucket:
            raise ValueError(f"{uri!r} has no bucket name")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def join(self, *parts: str) -> S3Uri:
        key = "/".join(p.strip("/") for p in (self.key, *parts) if p.strip("/"))
        return S3Uri(self.bucket, key)


def list_keys(uri: S3Uri) -> list[dict[str, Any]]:
    """Every object under a prefix (key, size, etag), following pagination."""
    pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=uri.bucket, Prefix=uri.key)
    return [item for page in pages for item in page.get("Contents", [])]


def stored_sha256(uri: S3Uri, etag: str | None = None) -> str | None:
    """The `sha256` metadata the uploader stores (seqpipe.transfer), if the object has it.

    With `etag`, only that version's: None when the object has been replaced or deleted since, so a
    late S3 event never records the checksum of other bytes.
    """
    # S3 events carry the ETag unquoted; If-Match takes the quoted entity tag (RFC 9110)
    conditions = {"IfMatch": '"' + etag.strip('"') + '"'} if etag else {}
    try:
        head = client("s3").head_object(Bucket=uri.bucket, Key=uri.key, **conditions)
    except ClientError as error:
        # HEAD responses have no body: the error code is the HTTP status
        if error.response.get("Error", {}).get("Code") in {"404", "412", "NoSuchKey", "PreconditionFailed"}:
            return None
        raise
    return head.get("Metadata", {}).get("sha256")


def sha256_of(uri: S3Uri) -> str:
    """The object's SHA-256: from the `sha256` metadata the uploader stores, else by streaming it."""
    stored = stored_sha256(uri)
    if stored:
        return stored
    digest = hashlib.sha256()
    for chunk in client("s3").get_object(Bucket=uri.bucket, Key=uri.key)["Body"].iter_chunks(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def quarantine(uri: S3Uri, reason: str) -> None:
    """Mark an object as quarantined by tag: kept, never deleted; bucket policies can deny reads by tag."""
    s3 = client("s3")
    tags = s3.get_object_tagging(Bucket=uri.bucket, Key=uri.key).get("TagSet", [])
    tags = [t for t in tags if t["Key"] != QUARANTINE_TAG]
    # S3 tag values allow letters, digits, spaces and + - = . _ : / @ only, up to 256 characters.
    value = "".join(ch if ch.isalnum() or ch in " +-=._:/@" else " " for ch in reason)[:256]
    tags.append({"Key": QUARANTINE_TAG, "Value": value})
    s3.put_object_tagging(Bucket=uri.bucket, Key=uri.key, Tagging={"TagSet": tags[-10:]})


def quarantine_reason(uri: S3Uri) -> str | None:
    tags = client("s3").get_object_tagging(Bucket=uri.bucket, Key=uri.key).get("TagSet", [])
    return next((t["Value"] for t in tags if t["Key"] == QUARANTINE_TAG), None)
