"""Quarantine by tag: an invalid object is kept, never deleted; bucket policies can deny reads by tag."""

from __future__ import annotations

from typing import Any

from seqpipe.storage.s3 import S3Uri, client

QUARANTINE_TAG = "seqpipe-quarantine"


def quarantine(uri: S3Uri, reason: str, version_id: str | None = None) -> None:
    """Tag the object; with `version_id` (a versioned bucket) that version only, so the verdict on a
    replaced upload never lands on the upload that replaced it."""
    s3 = client("s3")
    version = {"VersionId": version_id} if version_id else {}
    tags: list[dict[str, Any]] = s3.get_object_tagging(Bucket=uri.bucket, Key=uri.key, **version).get(
        "TagSet", []
    )
    tags = [t for t in tags if t["Key"] != QUARANTINE_TAG]
    # S3 tag values allow letters, digits, spaces and + - = . _ : / @ only, up to 256 characters.
    value = "".join(ch if ch.isalnum() or ch in " +-=._:/@" else " " for ch in reason)[:256]
    tags.append({"Key": QUARANTINE_TAG, "Value": value})
    s3.put_object_tagging(Bucket=uri.bucket, Key=uri.key, Tagging={"TagSet": tags[-10:]}, **version)


def quarantine_reason(uri: S3Uri) -> str | None:
    tags = client("s3").get_object_tagging(Bucket=uri.bucket, Key=uri.key).get("TagSet", [])
    return next((t["Value"] for t in tags if t["Key"] == QUARANTINE_TAG), None)
