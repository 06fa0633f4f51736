"""Presigned download links to S3 objects: the dashboard's MultiQC report, `seqpipe deliver`'s files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from seqpipe.storage.s3 import S3Uri

# SigV4 presigned URLs live at most 7 days.
MAX_SECONDS = 7 * 86400


@dataclass(frozen=True)
class Link:
    url: str
    expires_at: datetime


def presign(uri: str, seconds: int) -> Link:
    """A GET link to the object at `uri`, valid for `seconds` (at most MAX_SECONDS)."""
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"presigned links live 1 s to 7 days, not {seconds} s")
    target = S3Uri.parse(uri)
    signer = _signer(os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_DEFAULT_REGION"))
    url = signer.generate_presigned_url(
        "get_object", Params={"Bucket": target.bucket, "Key": target.key}, ExpiresIn=seconds
    )
    return Link(url, datetime.now(UTC) + timedelta(seconds=seconds))


@cache
def _signer(endpoint: str | None, region: str | None) -> Any:
    """One client per endpoint and region (keyed like seqpipe.storage.s3.client, so tests that move the
    endpoint get a fresh one)."""
    # SigV4 explicitly: with a custom endpoint botocore would otherwise presign with SigV2.
    return boto3.client("s3", config=Config(signature_version="s3v4"))
