"""S3 addresses and the boto3 client shared by every part of the package that talks to AWS."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# HEAD responses have no body, so a missing object is reported by its HTTP status as well as by name.
MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


# Throttling (S3 SlowDown, DynamoDB ProvisionedThroughputExceeded, …), 5xx answers and dropped
# connections are retried with jittered exponential backoff. Eight attempts: at a 20 % fault rate a
# call still fails in one case in 390,000 (tests/dataplane/test_faults_throttling.py runs at that rate).
RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})


def client(service: str) -> Any:
    """A client reused across warm Lambda invocations; the endpoint comes from AWS_ENDPOINT_URL when set.

    The cache is keyed on the endpoint and region too, so a process that points the environment
    elsewhere (tests, the CLI) never talks to a stale endpoint.
    """
    return _client(service, os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_DEFAULT_REGION"))


@cache
def _client(service: str, endpoint: str | None, region: str | None) -> Any:
    return boto3.client(service, config=RETRIES)


def resource(service: str) -> Any:
    """A boto3 resource (DynamoDB tables) with the clients' retries; a new one per call, because
    resources are not safe to share between threads."""
    return boto3.resource(service, config=RETRIES)


def is_missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in MISSING


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


def head(uri: S3Uri, etag: str | None = None) -> dict[str, Any] | None:
    """HeadObject of the key; None when it is missing or, with `etag`, no longer holds that version
    (replaced or deleted since: S3 reads are strongly consistent)."""
    # S3 events carry the ETag unquoted; If-Match takes the quoted entity tag (RFC 9110)
    conditions = {"IfMatch": '"' + etag.strip('"') + '"'} if etag else {}
    try:
        return client("s3").head_object(Bucket=uri.bucket, Key=uri.key, **conditions)
    except ClientError as error:
        if is_missing(error) or error.response.get("Error", {}).get("Code") in {"412", "PreconditionFailed"}:
            return None
        raise
