"""The SHA-256 of an S3 object: stored by the uploader as metadata, or computed by streaming it."""

from __future__ import annotations

import hashlib

from seqpipe.storage.s3 import S3Uri, client, head

CHUNK = 8 * 1024 * 1024


def stored_sha256(uri: S3Uri) -> str | None:
    """The `sha256` metadata the uploader stores (seqpipe.transfer), if the object has it."""
    return ((head(uri) or {}).get("Metadata") or {}).get("sha256")


def sha256_of(uri: S3Uri) -> str:
    """The object's SHA-256: from the `sha256` metadata the uploader stores, else by streaming it."""
    stored = stored_sha256(uri)
    if stored:
        return stored
    digest = hashlib.sha256()
    for chunk in client("s3").get_object(Bucket=uri.bucket, Key=uri.key)["Body"].iter_chunks(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()
