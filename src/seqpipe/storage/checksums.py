"""The SHA-256 of an S3 object: stored by the uploader as metadata, or computed by streaming it."""

from __future__ import annotations

import hashlib

from botocore.exceptions import ClientError

from seqpipe.storage.s3 import S3Uri, client, is_missing

CHUNK = 8 * 1024 * 1024


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
        if is_missing(error) or error.response.get("Error", {}).get("Code") in {"412", "PreconditionFailed"}:
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
