"""Every version of an object, for permanent deletion: list them, delete them with each response
checked, and say what is left.

In a versioned bucket a plain DeleteObject only adds a delete marker and keeps the data; erasing an
object means deleting each of its versions and delete markers by version id. An unversioned bucket
has one version, "null", deleted the same way.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from botocore.exceptions import ClientError

from seqpipe.storage.s3 import S3Uri, client

BATCH = 1000  # DeleteObjects takes at most 1000 keys a request


@dataclass(frozen=True)
class Failure:
    """Something erasure could not remove: an object version, an item, a rewrite; and why."""

    what: str
    error: str

    def as_dict(self) -> dict[str, str]:
        return {"what": self.what, "error": self.error}


def versions_under(bucket: str, prefix: str) -> dict[str, list[str]]:
    """Key → version ids (delete markers included) of every object under the prefix; {} for a
    bucket that does not exist."""
    found: dict[str, list[str]] = defaultdict(list)
    try:
        for page in client("s3").get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
                found[version["Key"]].append(version["VersionId"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchBucket":
            raise
    return dict(found)


def versions_of(uri: S3Uri) -> list[str]:
    """The version ids of exactly this key (not of the keys it is a prefix of)."""
    return versions_under(uri.bucket, uri.key).get(uri.key, [])


def delete_versions(bucket: str, versions: dict[str, list[str]]) -> list[Failure]:
    """Delete the given versions; every error DeleteObjects reports (or raises) is returned."""
    targets = [{"Key": key, "VersionId": v} for key, ids in sorted(versions.items()) for v in ids]
    failures: list[Failure] = []
    for start in range(0, len(targets), BATCH):
        batch = targets[start : start + BATCH]
        try:
            # through a governance-mode Object Lock (the raw bucket's), as the erasure role may; a
            # legal hold or a compliance-mode lock still refuses, and the failure is reported
            response = client("s3").delete_objects(
                Bucket=bucket, Delete={"Objects": batch, "Quiet": True}, BypassGovernanceRetention=True
            )
        except ClientError as error:
            reason = f"{error.response['Error'].get('Code')}: {error.response['Error'].get('Message')}"
            failures += [Failure(_version_label(bucket, t["Key"], t["VersionId"]), reason) for t in batch]
            continue
        for error in response.get("Errors", []):
            label = _version_label(bucket, error["Key"], error.get("VersionId"))
            failures.append(Failure(label, f"{error.get('Code')}: {error.get('Message')}"))
    return failures


def _version_label(bucket: str, key: str, version: str | None) -> str:
    return f"{S3Uri(bucket, key)}?versionId={version}"
