"""One method per access pattern of docs/data-plane.md; each read is one Query (or GetItem), never a Scan.

Items are built by seqpipe.aws.items (the layouts, spelled there and here only); the read side gets
them back sorted out (`SampleHistory`) or asks for their key (`key_of`).

from seqpipe.aws.repositories import Repositories
repos = Repositories.from_env()
repos.jobs.by_status("RUNNING", limit=50)        # newest first
repos.metadata.samples_of_run("RUN_1")
repos.quality.of_run("RUN_1")                    # QC of the run's samples
repos.quality.failing_in_project("P1")
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from seqpipe.aws.items import (
    FILE,
    PROJECT,
    RUN,
    RUN_KIND,
    Checks,
    Item,
    Metrics,
    SampleHistory,
    file_item,
    file_key,
    membership_item,
    now_iso,
    quality_item,
    run_item,
    sample_item,
    sample_key,
    sample_partition,
    task_item,
)
from seqpipe.aws.settings import Settings
from seqpipe.aws.tables import JOBS, METADATA, QUALITY, TableSpec
from seqpipe.aws.transitions import (
    JOB_LIFECYCLE,
    SAMPLE_LIFECYCLE,
    STEP_LIFECYCLE,
    IllegalTransition,
    JobStatus,
    Lifecycle,
    NotOwner,
    SampleStatus,
)
from seqpipe.storage.s3 import resource


def to_dynamo(value: Any) -> Any:
    """Floats become Decimal (DynamoDB numbers); None values are dropped from maps."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    """Decimals back to int/float so items serialise to JSON."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


def _is_conditional_failure(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "ConditionalCheckFailedException"


class _Table:
    spec: TableSpec

    def __init__(self, table_name: str, dynamodb: Any = None) -> None:
        """`dynamodb`: a boto3 DynamoDB resource of one's own (a session, timeouts) instead of the default."""
        self.table = (dynamodb or resource("dynamodb")).Table(table_name)

    def _key_names(self) -> list[str]:
        return [self.spec.partition.name] + ([self.spec.sort.name] if self.spec.sort else [])

    def key_of(self, item: Item) -> dict[str, Any]:
        """The item's primary key (for DeleteItem)."""
        return {name: item[name] for name in self._key_names()}

    def load(self, items: Iterable[Item]) -> int:
        """Unconditional batch writes (25 items a request) of items built by seqpipe.aws.items: for
        bulk content such as the dashboard's demo data, where item-by-item conditional writes would
        take minutes. A later item with the same key wins. Returns the number written."""
        count = 0
        with self.table.batch_writer(overwrite_by_pkeys=self._key_names()) as batch:
            for item in items:
                batch.put_item(Item=to_dynamo(item))
                count += 1
        return count

    def _query(self, limit: int | None = None, newest_first: bool = False, **kwargs: Any) -> list[Item]:
        items: list[Item] = []
        kwargs["ScanIndexForward"] = not newest_first
        # Limit counts the items read before a filter: with one, pages are read whole (one request
        # instead of one per few matches) and the surplus dropped.
        filtered = "FilterExpression" in kwargs
        while True:
            if limit is not None and not filtered:
                kwargs["Limit"] = limit - len(items)
            page = self.table.query(**kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page or (limit is not None and len(items) >= limit):
                return [from_dynamo(i) for i in items[:limit]]
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _get(self, **key: str) -> Item | None:
        item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else None

    def _put_new(self, item: Item) -> bool:
        """Write an item built by seqpipe.aws.items unless its key is taken: False when it was."""
        try:
            self.table.put_item(
                Item=to_dynamo(item), ConditionExpression=Attr(self.spec.partition.name).not_exists()
            )
        except ClientError as exc:
            if not _is_conditional_failure(exc):
                raise
            return False
        return True

    def _transition(
        self,
        lifecycle: Lifecycle,
        key: dict[str, str],
        target: str,
        expected_version: int | None,
        attributes: dict[str, Any],
        *,
        history: dict[str, str] | None = None,
        owner: tuple[str, str] | None = None,
    ) -> Item:
        """Set status=target if the stored status may go there (and the version is unchanged, if given;
        and, if `owner` (attribute, value) is given, the item's attribute holds that value); `history`,
        if given, is appended to the item's `history` list."""
        sources = sorted(lifecycle.sources(target))
        names, values, sets = _assignments({"status": target, "updated_at": now_iso(), **attributes})
        values[":one"] = 1
        if history is not None:
            names["#history"] = "history"
            values |= {":entry": [to_dynamo(history)], ":empty": []}
            sets.append("#history = list_append(if_not_exists(#history, :empty), :entry)")
        label = "/".join(key.values())
        if not sources:
            current = (self._get(**key) or {}).get("status")
            raise IllegalTransition(lifecycle, label, current, target)
        condition = Attr("status").is_in(sources)
        if expected_version is not None:
            condition = condition & Attr("version").eq(expected_version)
        if owner is not None:
            condition = condition & Attr(owner[0]).eq(owner[1])
        try:
            response = self.table.update_item(
                Key=key,
                UpdateExpression=f"SET {', '.join(sets)} ADD version :one",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not _is_conditional_failure(exc):
                raise
            old = exc.response.get("Item") or {}
            current = old.get("status", {}).get("S") if old else None
            if owner is not None and old and old.get(owner[0], {}).get("S") != owner[1]:
                raise NotOwner(label, old.get(owner[0], {}).get("S"), owner[1]) from None
            if expected_version is not None and old and current in sources:
                raise IllegalTransition(
                    lifecycle, label + " (changed by another writer)", current, target
                ) from None
            raise IllegalTransition(lifecycle, label, current, target) from None
        return from_dynamo(response["Attributes"])


def _assignments(attributes: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any], list[str]]:
    """Names, values and `#aN = :aN` clauses of an UpdateExpression's SET for these attributes.
    (Placeholders must not collide with the :v<n> names boto3's condition builder uses.)"""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    sets: list[str] = []
    for i, (name, value) in enumerate(to_dynamo(attributes).items()):
        names[f"#a{i}"] = name
        values[f":a{i}"] = value
        sets.append(f"#a{i} = :a{i}")
    return names, values, sets


# A sample's statuses that show a run's write of the key status done already (delivery follows a pass).
_SETTLED_AT_OR_AFTER = {
    SampleStatus.QC_PASSED: {SampleStatus.QC_PASSED, SampleStatus.DELIVERED},
    SampleStatus.QC_FAILED: {SampleStatus.QC_FAILED},
    SampleStatus.DELIVERED: {SampleStatus.DELIVERED},
    SampleStatus.FAILED: {SampleStatus.FAILED},
}


class MetadataRepository(_Table):
    """Table genomics-metadata: samples, the runs a sample is in, and the files of a sample."""

    spec = METADATA

    def register_sample(self, sample: str, project: str, **attributes: Any) -> None:
        """Create the sample if new (status REGISTERED); never resets an existing one."""
        self._put_new(sample_item(sample, project, **attributes))

    def add_sample_to_run(self, sample: str, run_id: str, project: str) -> None:
        self.table.put_item(Item=to_dynamo(membership_item(sample, run_id, project)))

    def set_sample_status(self, sample: str, status: str, run_id: str) -> bool:
        """The sample's status as run `run_id` sees it; False if nothing was written.

        PROCESSING claims the sample for the run (a later run's claim takes it over). A verdict or a
        delivery is written only while the run holds the sample: not when a run started since has
        claimed it (that run's verdict will be the sample's), and not twice (a retried finalize finds
        it written already). Two runs of one sample, or a step retried after a fault, so converge
        instead of failing on the second writer."""
        attributes = {"run_id": run_id}
        if status == SampleStatus.PROCESSING:
            self._transition(SAMPLE_LIFECYCLE, sample_key(sample), status, None, attributes)
            return True
        try:
            self._transition(
                SAMPLE_LIFECYCLE, sample_key(sample), status, None, attributes, owner=("run_id", run_id)
            )
        except NotOwner:
            return False
        except IllegalTransition as error:
            if error.current not in _SETTLED_AT_OR_AFTER[status]:
                raise
            return False
        return True

    def record_file(
        self, sample: str, uri: str, etag: str, sequencer: str | None = None, **attributes: Any
    ) -> tuple[bool, Item]:
        """One record per object version: a duplicate event writes nothing and returns (False, stored
        record); a later upload to the same key replaces the record. With `sequencer` (the S3 event's,
        padded by seqpipe.aws.ingest to compare as text) "later" is decided by it, so an event that
        arrives after a newer one's also writes nothing; without, by the ETag differing."""
        item = to_dynamo(file_item(sample, uri, etag, **attributes))
        newer = Attr("etag").ne(etag)
        if sequencer is not None:
            item["sequencer"] = sequencer
            newer = Attr("sequencer").lt(sequencer) | (Attr("sequencer").not_exists() & newer)
        try:
            self.table.put_item(Item=item, ConditionExpression=Attr("pk").not_exists() | newer)
        except ClientError as exc:
            if not _is_conditional_failure(exc):
                raise
            return False, self._get(**self.key_of(item)) or {}
        return True, from_dynamo(item)

    def get_file(self, sample: str, uri: str) -> Item | None:
        return self._get(**file_key(sample, uri))

    def get_sample(self, sample: str) -> Item | None:
        return self._get(**sample_key(sample))

    def sample_history(self, sample: str) -> SampleHistory:
        """The sample, its runs and its files in one Query."""
        return SampleHistory.of(self._query(KeyConditionExpression=Key("pk").eq(sample_partition(sample))))

    def files_of_sample(self, sample: str) -> list[Item]:
        return self._query(
            KeyConditionExpression=Key("pk").eq(sample_partition(sample)) & Key("sk").begins_with(FILE)
        )

    def runs_of_sample(self, sample: str) -> list[Item]:
        return self._query(
            KeyConditionExpression=Key("pk").eq(sample_partition(sample)) & Key("sk").begins_with(RUN)
        )

    def samples_of_run(self, run_id: str) -> list[Item]:
        return self._query(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(f"{RUN}{run_id}"))

    def samples_of_project(self, project: str, limit: int | None = None) -> list[Item]:
        return self._query(
            limit, IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(f"{PROJECT}{project}")
        )


class JobRepository(_Table):
    """Table processing-jobs: runs (kind "run", job_id = run id) and per-sample tasks."""

    spec = JOBS

    def record_run(
        self, run_id: str, project: str, samples: list[str], **attributes: Any
    ) -> tuple[bool, Item]:
        """Record a run as SUBMITTED. A run that is already submitted, running or done is left alone
        and (False, stored item) is returned; a FAILED or ABORTED one starts a new attempt (whose
        record no longer carries the previous attempt's error)."""
        item = to_dynamo(run_item(run_id, project, samples, JobStatus.SUBMITTED.value, **attributes))
        retry_from = sorted(JOB_LIFECYCLE.sources(JobStatus.SUBMITTED))
        # placeholder names must not collide with the :v<n> names boto3's condition builder uses
        try:
            response = self.table.update_item(
                Key={"job_id": run_id},
                UpdateExpression="SET "
                + ", ".join(f"#field{i} = :value{i}" for i, k in enumerate(item) if k != "job_id")
                + " ADD attempt :one, version :one REMOVE error_name, error_cause",
                ConditionExpression=Attr("job_id").not_exists() | Attr("status").is_in(retry_from),
                ExpressionAttributeNames={f"#field{i}": k for i, k in enumerate(item) if k != "job_id"},
                ExpressionAttributeValues={
                    **{f":value{i}": v for i, (k, v) in enumerate(item.items()) if k != "job_id"},
                    ":one": 1,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not _is_conditional_failure(exc):
                raise
            return False, self.get(run_id) or {}
        return True, from_dynamo(response["Attributes"])

    def record_task(
        self, job_id: str, kind: str, run_id: str | None, sample: str | None, status: str, **attributes: Any
    ) -> tuple[bool, Item]:
        """A per-sample task (validation, vcf processing); written once per job_id."""
        item = task_item(job_id, kind, run_id, sample, status, **attributes)
        if not self._put_new(item):
            return False, self.get(job_id) or {}
        return True, from_dynamo(to_dynamo(item))

    def claim_task(
        self,
        job_id: str,
        kind: str,
        run_id: str | None,
        sample: str | None,
        holder: str,
        lease_until: float,
        **attributes: Any,
    ) -> str:
        """Take a per-sample task for `holder` until `lease_until` (epoch seconds): the task is created
        RUNNING, or taken over when its holder's lease ran out (that holder is dead: the lease is its
        invocation's deadline) or it is `holder`'s own (a retry of the same invocation, whose earlier
        attempt has ended). Returns "claimed", or "done" when the task settled already, or "held" while
        another holder's lease runs."""
        item = task_item(
            job_id,
            kind,
            run_id,
            sample,
            JobStatus.RUNNING,
            holder=holder,
            lease_until=lease_until,
            **attributes,
        )
        abandoned = Attr("status").eq(JobStatus.RUNNING) & (
            Attr("lease_until").lt(to_dynamo(time.time())) | Attr("holder").eq(holder)
        )
        try:
            self.table.put_item(
                Item=to_dynamo(item),
                ConditionExpression=Attr("job_id").not_exists() | abandoned,
            )
        except ClientError as exc:
            if not _is_conditional_failure(exc):
                raise
            stored = self.get(job_id) or {}
            return "held" if stored.get("status") == JobStatus.RUNNING else "done"
        return "claimed"

    def finish_task(self, job_id: str, holder: str, **attributes: Any) -> Item:
        """Settle a claimed task SUCCEEDED; NotOwner if another holder took it over meanwhile."""
        key = {"job_id": job_id}
        return self._transition(
            JOB_LIFECYCLE, key, JobStatus.SUCCEEDED, None, attributes, owner=("holder", holder)
        )

    # ---- workflow steps (written by seqpipe.steps, the workflow's logger plugin) -------------------
    # Every step write is conditional, so a repeated or late event changes nothing and returns False.
    def record_step(self, item: Item) -> bool:
        """Create a step (seqpipe.aws.items.step_item) unless it exists."""
        return self._put_new(item)

    def advance_step(self, job_id: str, status: str, at: str, **attributes: Any) -> bool:
        """Move a step along STEP_LIFECYCLE, appending {status, at} to its history; False when the
        stored status does not lead there (the event was applied already, or the step is settled)."""
        try:
            self._transition(
                STEP_LIFECYCLE,
                {"job_id": job_id},
                status,
                None,
                attributes,
                history={"status": status, "at": at},
            )
        except IllegalTransition:
            return False
        return True

    def annotate_step(self, job_id: str, **attributes: Any) -> bool:
        """Set what is learnt of a step apart from its status (the engine's job id, its exit status);
        False when there is no such step."""
        names, values, sets = _assignments({**attributes, "updated_at": now_iso()})
        try:
            self.table.update_item(
                Key={"job_id": job_id},
                UpdateExpression=f"SET {', '.join(sets)}",
                ConditionExpression=Attr("job_id").exists(),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if not _is_conditional_failure(exc):
                raise
            return False
        return True

    def transition(
        self,
        job_id: str,
        status: str,
        expected_version: int | None = None,
        *,
        execution_arn: str | None = None,
        **attributes: Any,
    ) -> Item:
        """With `execution_arn`, only the execution that owns the run (the one that recorded its current
        attempt) may change it: another one gets NotOwner."""
        owner = None if execution_arn is None else ("execution_arn", execution_arn)
        key = {"job_id": job_id}
        return self._transition(JOB_LIFECYCLE, key, status, expected_version, attributes, owner=owner)

    def get(self, job_id: str) -> Item | None:
        return self._get(job_id=job_id)

    def by_status(self, status: str, limit: int | None = 100) -> list[Item]:
        return self._query(
            limit, newest_first=True, IndexName="by-status", KeyConditionExpression=Key("status").eq(status)
        )

    def of_sample(self, sample: str, limit: int | None = None) -> list[Item]:
        return self._query(
            limit, newest_first=True, IndexName="by-sample", KeyConditionExpression=Key("sample").eq(sample)
        )

    def of_run(self, run_id: str) -> list[Item]:
        return self._query(IndexName="by-run", KeyConditionExpression=Key("run_id").eq(run_id))

    def runs(self, limit: int | None = 100, status: str | None = None) -> list[Item]:
        """Runs, newest first. With a status: by-kind filtered on it, because by-status mixes runs with
        the (hundred times more numerous) per-sample tasks."""
        filtered = {"FilterExpression": Attr("status").eq(status)} if status else {}
        return self._query(
            limit,
            newest_first=True,
            IndexName="by-kind",
            KeyConditionExpression=Key("kind").eq(RUN_KIND),
            **filtered,
        )

    def replace_attributes(self, run_id: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        """Set attributes of a job (erasure takes a sample out of a run item's `samples`, `inputs` and
        `delivery`); refused if any of them changed since `before` was read."""
        names = {f"#a{i}": name for i, name in enumerate(after)}
        values = {f":after{i}": value for i, value in enumerate(after.values())}
        values |= {f":before{i}": before[name] for i, name in enumerate(after)}
        self.table.update_item(
            Key={"job_id": run_id},
            UpdateExpression="SET " + ", ".join(f"#a{i} = :after{i}" for i in range(len(after))),
            ConditionExpression=" AND ".join(f"#a{i} = :before{i}" for i in range(len(after))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_dynamo(values),
        )


class QualityRepository(_Table):
    """Table quality-metrics: one item per (sample, run)."""

    spec = QUALITY

    def put(
        self, sample: str, run_id: str, project: str, metrics: Metrics, checks: Checks, verdict: str
    ) -> Item:
        item = quality_item(sample, run_id, project, metrics, checks, verdict)
        self.table.put_item(Item=to_dynamo(item))
        return item

    def get(self, sample: str, run_id: str) -> Item | None:
        return self._get(sample=sample, run_id=run_id)

    def of_sample(self, sample: str) -> list[Item]:
        """QC of a sample across runs."""
        return self._query(KeyConditionExpression=Key("sample").eq(sample))

    def of_run(self, run_id: str) -> list[Item]:
        """QC of a run: its samples' items, ordered by sample."""
        return self._query(IndexName="by-run", KeyConditionExpression=Key("run_id").eq(run_id))

    def of_project(self, project: str, verdict: str | None = None, limit: int | None = None) -> list[Item]:
        condition = Key("project").eq(project)
        if verdict:
            condition = condition & Key("verdict_key").begins_with(f"{verdict}#")
        return self._query(limit, IndexName="by-project", KeyConditionExpression=condition)

    def failing_in_project(self, project: str, limit: int | None = None) -> list[Item]:
        return self.of_project(project, "FAIL", limit)


@dataclass(frozen=True)
class Repositories:
    metadata: MetadataRepository
    jobs: JobRepository
    quality: QualityRepository

    @classmethod
    def from_settings(cls, settings: Settings) -> Repositories:
        return cls(
            MetadataRepository(settings.metadata_table),
            JobRepository(settings.jobs_table),
            QualityRepository(settings.qc_table),
        )

    @classmethod
    def from_env(cls) -> Repositories:
        return cls.from_settings(Settings.from_env())
