"""Validation of objects arriving in the raw bucket, and of a run's inputs before it starts.

Key convention in the raw bucket: `<project>/<run_id>/<sample>/<file>`. Objects elsewhere, or under a
name that is no sample id (a folder name of the pipeline's outputs, seqpipe.output_tree), are still
validated and recorded, under sample "unassigned", so nothing that arrives goes unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seqpipe.aws.quarantine import quarantine
from seqpipe.aws.repositories import Repositories
from seqpipe.output_tree import is_sample_id
from seqpipe.storage.checksums import stored_sha256
from seqpipe.storage.s3 import S3Uri
from seqpipe.validators import ValidationResult, validate

UNASSIGNED = "unassigned"


class TransientError(Exception):
    """Worth retrying (the state machine retries errors of this name)."""


class InputValidationError(Exception):
    """A run input failed validation; not retried, the run fails with this message as its cause."""


@dataclass(frozen=True)
class ObjectPlace:
    project: str | None
    run_id: str | None
    sample: str


def run_level_sample(run_id: str) -> str:
    """The sample name a run folder's objects are recorded under (they belong to no single sample)."""
    return f"run:{run_id}"


def place_of(key: str) -> ObjectPlace:
    parts = key.split("/")
    if len(parts) >= 4 and all(parts[:2]) and is_sample_id(parts[2]):
        return ObjectPlace(parts[0], parts[1], parts[2])
    return ObjectPlace(None, None, UNASSIGNED)


def summary(result: ValidationResult) -> dict[str, Any]:
    """The part of a validation result stored with the file record (DynamoDB items stay small)."""
    return {
        "format": result.format,
        "valid": result.valid,
        "errors": [str(e) for e in result.errors[:10]],
        "warnings": [str(w) for w in result.warnings[:10]],
        "samples_in_header": result.header.samples[:50],
        "index": result.index,
    }


# Files that only make sense beside another one (indexes, checksums) are recorded, not validated.
SIDECAR_SUFFIXES = (".bai", ".csi", ".crai", ".tbi", ".fai", ".md5", ".sha256", ".json", ".yaml", ".yml")
# Instruments write RTAComplete.txt (CopyComplete.txt on newer ones) last: the run folder is
# validated as a whole when it arrives; its thousands of BCL objects are recorded without a check.
RUN_COMPLETE_MARKERS = ("RTAComplete.txt", "CopyComplete.txt")
RUN_FOLDER_PARTS = ("/Data/Intensities/", "/InterOp/", "/Thumbnail_Images/", "/Config/", "/Recipe/", "/Logs/")
RUN_FOLDER_FILES = ("RunInfo.xml", "RunParameters.xml", "runParameters.xml", "SampleSheet.csv")


def object_kind(key: str) -> str:
    """'run-complete', 'run-part', 'sidecar' or 'data' (validated on its own)."""
    name = key.rsplit("/", 1)[-1]
    if name in RUN_COMPLETE_MARKERS:
        return "run-complete"
    if name in RUN_FOLDER_FILES or any(part in f"/{key}" for part in RUN_FOLDER_PARTS):
        return "run-part"
    if name.lower().endswith(SIDECAR_SUFFIXES):
        return "sidecar"
    return "data"


def ingest_object(repos: Repositories, bucket: str, key: str, etag: str, size: int) -> dict[str, Any]:
    """Validate one new object (for a run-completion marker: its run folder), record it once,
    quarantine it (tag) if invalid. Sidecars and run-folder parts are recorded without a check.

    The record keeps the event's ETag (a duplicate event has the same one and writes nothing) and,
    when the uploader stored one, the SHA-256 of that object version."""
    uri = S3Uri(bucket, key)
    kind = object_kind(key)
    place = place_of(key)
    if kind.startswith("run-") and place.run_id:
        # a run folder belongs to no single sample; its objects are kept under the run
        place = ObjectPlace(place.project, place.run_id, run_level_sample(place.run_id))
    where = {
        "kind": kind,
        "project": place.project,
        "run_id": place.run_id,
        "size": size,
        "sha256": stored_sha256(uri, etag or None),
    }
    if kind in ("run-part", "sidecar"):
        created, record = repos.metadata.record_file(place.sample, str(uri), etag, status="RECORDED", **where)
        return {
            "created": created,
            "uri": str(uri),
            "sample": place.sample,
            "status": record.get("status"),
            "format": None,
            "sha256": record.get("sha256"),
            "errors": [],
        }
    target = f"s3://{bucket}/{key.rsplit('/', 1)[0]}/" if kind == "run-complete" else str(uri)
    result = validate(target)
    if any(e.message == "no such file" for e in result.errors):
        raise TransientError(f"{uri} is not readable yet (event ahead of the object, or deleted)")
    status = "VALID" if result.valid else "QUARANTINED"
    created, record = repos.metadata.record_file(
        place.sample,
        str(uri),
        etag,
        status=status,
        validation=summary(result),
        bytes_read=result.bytes_read,
        **where,
    )
    if created:
        if place.project:
            repos.metadata.register_sample(place.sample, place.project)
            if place.run_id:
                repos.metadata.add_sample_to_run(place.sample, place.run_id, place.project)
        if not result.valid:
            quarantine(uri, result.errors[0].message)
    return {
        "created": created,
        "uri": str(uri),
        "sample": place.sample,
        "status": record.get("status", status),
        "format": result.format,
        "sha256": record.get("sha256"),
        "errors": [str(e) for e in result.errors],
    }


def validate_inputs(inputs: list[str]) -> list[dict[str, Any]]:
    """Quick-validate every input of a run; raises InputValidationError naming each bad one."""
    results = [validate(uri) for uri in inputs]
    bad = [r for r in results if not r.valid]
    if bad:
        raise InputValidationError(
            "; ".join(f"{r.location}: {', '.join(e.message for e in r.errors[:3])}" for r in bad)
        )
    return [{"uri": r.location, "format": r.format, "samples": r.header.samples} for r in results]
