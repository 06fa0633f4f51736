"""Validation of objects arriving in the raw bucket, and of a run's inputs before it starts.

Key convention in the raw bucket: `<project>/<run_id>/<sample>/<file>`. Objects elsewhere are still
validated and recorded, under sample "unassigned", so nothing that arrives goes unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seqpipe.aws.repositories import Repositories
from seqpipe.aws.s3 import S3Uri, quarantine
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


def place_of(key: str) -> ObjectPlace:
    parts = key.split("/")
    if len(parts) >= 4 and all(parts[:3]):
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


def ingest_object(repos: Repositories, bucket: str, key: str, etag: str, size: int) -> dict[str, Any]:
    """Validate one new object, record it once, quarantine it (tag) if invalid."""
    uri = S3Uri(bucket, key)
    place = place_of(key)
    result = validate(str(uri))
    if any("NoSuchKey" in e.message or "no such file" in e.message for e in result.errors):
        raise TransientError(f"{uri} is not readable yet: {result.errors[0].message}")
    status = "VALID" if result.valid else "QUARANTINED"
    created, record = repos.metadata.record_file(
        place.sample,
        str(uri),
        etag,
        size=size,
        status=status,
        project=place.project,
        run_id=place.run_id,
        validation=summary(result),
        bytes_read=result.bytes_read,
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
