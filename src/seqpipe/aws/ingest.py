"""Validation of objects arriving in the raw bucket, and of a run's inputs before it starts.

Key convention in the raw bucket: `<project>/<run_id>/<sample>/<file>`. Objects elsewhere, or under a
name that is no sample id (a folder name of the pipeline's outputs, seqpipe.output_tree), are still
validated and recorded, under sample "unassigned", so nothing that arrives goes unseen.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Any

from seqpipe.aws.items import Item
from seqpipe.aws.quarantine import quarantine
from seqpipe.aws.repositories import Repositories
from seqpipe.aws.transitions import IllegalTransition, NotOwner
from seqpipe.output_tree import is_sample_id
from seqpipe.storage.s3 import S3Uri, head
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


SEQUENCER_WIDTH = 32
LAMBDA_MAX_SECONDS = 900
VALIDATION_KIND = "validation"
# the outcome of an event whose object was replaced or deleted before its turn: nothing is recorded
SUPERSEDED = "SUPERSEDED"
# the outcome of a duplicate delivered while another delivery of the event validates the object
IN_PROGRESS = "IN_PROGRESS"


@dataclass(frozen=True)
class ObjectVersion:
    """The object an S3 event is about, as the event names it."""

    bucket: str
    key: str
    etag: str
    size: int
    # S3's order of the events of one key (a later event has a greater one); absent in direct calls
    sequencer: str | None = None
    # set in a versioned bucket (the deployed raw bucket is one)
    version_id: str | None = None

    @property
    def uri(self) -> S3Uri:
        return S3Uri(self.bucket, self.key)

    def order(self) -> str | None:
        """The sequencer as text that sorts like the event order: S3's sequencers differ in length and
        compare as hexadecimal numbers once the shorter is left-padded with zeros."""
        return self.sequencer.upper().rjust(SEQUENCER_WIDTH, "0") if self.sequencer else None

    def task_id(self) -> str:
        """The job id of this version's validation: a redelivered event names the same task."""
        identity = "\n".join((str(self.uri), self.etag, self.sequencer or "", self.version_id or ""))
        return f"validation.{hashlib.sha256(identity.encode()).hexdigest()[:32]}"


def current_head(obj: ObjectVersion) -> dict[str, Any] | None:
    """HeadObject of the key if it still holds the event's version; None once it was replaced or
    deleted (an event's object is visible when the event is sent)."""
    return head(S3Uri(obj.bucket, obj.key), obj.etag)


def _recorded(stored: Item | None, obj: ObjectVersion) -> bool:
    """The record holds this version or a later one."""
    if stored is None:
        return False
    order = obj.order()
    if order and stored.get("sequencer"):
        return stored["sequencer"] >= order
    return stored.get("etag") == obj.etag


def _outcome(created: bool, obj: ObjectVersion, sample: str, record: Item, **result: Any) -> dict[str, Any]:
    superseded = not record or record.get("etag") != obj.etag
    return {
        "created": created,
        "uri": str(obj.uri),
        "sample": sample,
        "status": SUPERSEDED if superseded else record.get("status"),
        "format": result.get("format", (record.get("validation") or {}).get("format")),
        "sha256": None if superseded else record.get("sha256"),
        "errors": result.get("errors", (record.get("validation") or {}).get("errors", [])),
    }


def ingest_object(
    repos: Repositories, obj: ObjectVersion, holder: str | None = None, deadline: float | None = None
) -> dict[str, Any]:
    """Validate one new object version (for a run-completion marker: its run folder), record it once,
    quarantine it (tag) if invalid. Sidecars and run-folder parts are recorded without a check.

    At-least-once delivery, in any order, by any number of concurrent invocations: the version's
    validation is a task of processing-jobs that one invocation (`holder`) claims until its `deadline`
    (epoch seconds), and the others answer IN_PROGRESS while it runs; its steps are ordered so
    that each is safe to repeat (tag, sample, then the file record last, then the task settled), and
    the file record is written only over an older version's (the sequencer), so a late event, or one
    whose object is gone, records nothing. The record keeps the event's ETag and, when the uploader
    stored one, that version's SHA-256. Called outside Lambda (tools, tests), the holder is new and
    holds until Lambda's longest run would have ended."""
    kind = object_kind(obj.key)
    place = place_of(obj.key)
    if kind.startswith("run-") and place.run_id:
        # a run folder belongs to no single sample; its objects are kept under the run
        place = ObjectPlace(place.project, place.run_id, run_level_sample(place.run_id))
    if kind in ("run-part", "sidecar"):
        # thousands per run folder: recorded without a task
        return _record(repos, obj, kind, place)
    task_id = obj.task_id()
    holder = holder or uuid.uuid4().hex
    deadline = deadline or time.time() + LAMBDA_MAX_SECONDS
    state = repos.jobs.claim_task(
        task_id,
        VALIDATION_KIND,
        place.run_id,
        place.sample,
        holder,
        deadline,
        uri=str(obj.uri),
        etag=obj.etag,
    )
    if state == "held":
        # a duplicate: the delivery validating this version finishes it, or, should it die, Lambda's
        # retry of that invocation (its own holder) or a delivery after its deadline does
        return {**_outcome(False, obj, place.sample, {}), "status": IN_PROGRESS}
    if state == "done":
        return _outcome(False, obj, place.sample, repos.metadata.get_file(place.sample, str(obj.uri)) or {})
    outcome = _record(repos, obj, kind, place)
    # NotOwner: our lease ran out and another delivery took over; IllegalTransition: it settled the task
    # already. Either way with the same verdict.
    with contextlib.suppress(NotOwner, IllegalTransition):
        repos.jobs.finish_task(task_id, holder, outcome=outcome["status"], created=outcome["created"])
    return outcome


def _record(repos: Repositories, obj: ObjectVersion, kind: str, place: ObjectPlace) -> dict[str, Any]:
    uri = obj.uri
    stored = repos.metadata.get_file(place.sample, str(uri))
    if _recorded(stored, obj):
        return _outcome(False, obj, place.sample, stored or {})
    head = current_head(obj)
    if head is None:
        return _outcome(False, obj, place.sample, {})
    where = {
        "kind": kind,
        "project": place.project,
        "run_id": place.run_id,
        "size": obj.size,
        "sha256": head.get("Metadata", {}).get("sha256"),
        "version_id": obj.version_id,
    }
    if kind in ("run-part", "sidecar"):
        created, record = repos.metadata.record_file(
            place.sample, str(uri), obj.etag, obj.order(), status="RECORDED", **where
        )
        return _outcome(created, obj, place.sample, record, format=None, errors=[])
    target = f"s3://{uri.bucket}/{uri.key.rsplit('/', 1)[0]}/" if kind == "run-complete" else str(uri)
    result = validate(target)
    if any(e.message == "no such file" for e in result.errors):
        raise TransientError(f"{uri} went away while it was validated; the next attempt finds out why")
    if not result.valid:
        quarantine(uri, result.errors[0].message, obj.version_id)
    if place.project:
        repos.metadata.register_sample(place.sample, place.project)
        if place.run_id:
            repos.metadata.add_sample_to_run(place.sample, place.run_id, place.project)
    created, record = repos.metadata.record_file(
        place.sample,
        str(uri),
        obj.etag,
        obj.order(),
        status="VALID" if result.valid else "QUARANTINED",
        validation=summary(result),
        bytes_read=result.bytes_read,
        **where,
    )
    return _outcome(
        created, obj, place.sample, record, format=result.format, errors=[str(e) for e in result.errors]
    )


def validate_inputs(inputs: list[str]) -> list[dict[str, Any]]:
    """Quick-validate every input of a run; raises InputValidationError naming each bad one."""
    results = [validate(uri) for uri in inputs]
    bad = [r for r in results if not r.valid]
    if bad:
        raise InputValidationError(
            "; ".join(f"{r.location}: {', '.join(e.message for e in r.errors[:3])}" for r in bad)
        )
    return [{"uri": r.location, "format": r.format, "samples": r.header.samples} for r in results]
