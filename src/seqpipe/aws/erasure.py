"""GDPR erasure of one sample: every copy of its data in the buckets and tables, with an audit record.

Every copy is found from the records, through the data plane's own indexes (no Scan), and every key
is parsed against its layout (seqpipe.aws.layout, seqpipe.aws.ingest.place_of, seqpipe.output_tree),
never matched by substring:
- genomics-metadata: the sample's partition (the sample, its runs, its file records), and the file
  records filed as `unassigned` or under one of its runs' folders whose object names the sample
  (`names_sample`);
- quality-metrics: the sample's partition; processing-jobs: its tasks (by-sample index);
- raw: the recorded objects, and everything under `<project>/<run>/<sample>/`;
- processed: the VCF processor's copies of those raw VCFs (`vcf/<raw key>.norm.vcf.gz`, index,
  summary, and all of `vcf/<project>/<run>/<sample>/`); under each run's `runs/<run>/`, `work/<run>/`
  and recorded output URI, the outputs the output tree gives to the sample, the joint-calling
  outputs of every group whose VCF header holds it, and the run's files that mix every sample
  (MultiQC report and data, run manifest, demultiplexing tables, the workflow's source archive),
  which are removed to be rebuilt by a re-run without the sample; the QC summary files are
  rewritten without the sample's rows;
- delivery: `<run>/<sample>/`, and the run's manifest, rewritten without the sample;
- the run items: the sample leaves `samples`, `inputs` and `delivery.samples`.

Erasing means deleting every version and delete marker of each object (seqpipe.aws.versions): an
erased object leaves nothing behind in a versioned bucket. A rewritten file keeps only its new
version. Every delete response is checked and the keys are listed again afterwards: whatever is
left makes the erasure FAILED, and is named in the audit record and on the command line. The table
items are deleted only once no object is left, so that a second attempt finds the rest from them.

A run of the sample that is SUBMITTED or RUNNING refuses the erasure: it would write the data again.
The audit record (seqpipe.aws.audit) is written STARTED before anything is changed.

Raw run folders (BCL) hold every sample of the run multiplexed and cannot be cut: the run folders of
the sample's runs are listed as `retained` for a decision on the whole run.
"""

from __future__ import annotations

import json
import re
import tempfile
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import ClientError

from seqpipe.aws.audit import AuditStatus, ErasureAudit, caller_arn
from seqpipe.aws.delivery import read_manifest
from seqpipe.aws.ingest import UNASSIGNED, place_of, run_level_sample
from seqpipe.aws.items import Item
from seqpipe.aws.layout import (
    PROCESSED_VCF_PREFIX,
    delivered_prefix,
    manifest_key,
    processed_vcf_outputs,
    raw_sample_prefix,
    run_outputs_key,
    run_work_key,
)
from seqpipe.aws.repositories import Repositories
from seqpipe.aws.settings import Settings
from seqpipe.aws.transitions import JobStatus
from seqpipe.aws.versions import Failure, delete_versions, versions_of, versions_under
from seqpipe.output_tree import QC_SUMMARY_FILES, QC_SUMMARY_JSON, Owner, parse_output
from seqpipe.qc.summary import QcSummary, write_summary
from seqpipe.storage.s3 import S3Uri, client, is_missing, resource

ACTIVE = frozenset({JobStatus.SUBMITTED.value, JobStatus.RUNNING.value})
VARIANT_FILES = (".vcf.gz", ".bcf")
# Raw files named after a sample: bcl2fastq/BCL Convert (`S1_S3_L001_R1_001.fastq.gz`), the
# pipeline's demultiplexed FASTQs (`S1_L001_R1.fastq.gz`) and plain read pairs (`S1_R1.fq.gz`).
SAMPLE_FILE_NAMES = (
    re.compile(r"(?P<sample>.+)_S\d+(_L\d{3})?_[RI][123]_001\.f(ast)?q\.gz"),
    re.compile(r"(?P<sample>.+)_L\d{3}_R[12]\.fastq\.gz"),
    re.compile(r"(?P<sample>.+)_R?[12]\.f(ast)?q(\.gz)?"),
)


class ErasureRefused(Exception):
    """The erasure may not start (a run of the sample is still active); the message says why."""


@dataclass(frozen=True)
class RunChange:
    """Attributes of a run item before and after the sample leaves it."""

    before: dict[str, Any]
    after: dict[str, Any]


@dataclass
class ErasurePlan:
    sample: str
    runs: dict[str, str | None] = field(default_factory=dict)  # run → its item's status (None: no item)
    objects: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # bucket → key → versions
    regenerate: list[str] = field(default_factory=list)  # removed run outputs that mix samples
    qc_summaries: list[str] = field(default_factory=list)  # qc_summary.json URIs (and their siblings)
    manifests: list[str] = field(default_factory=list)  # delivery manifests rewritten without the sample
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # table → keys
    run_items: dict[str, RunChange] = field(default_factory=dict)
    retained: list[str] = field(default_factory=list)  # raw run folders: every sample of the run

    @property
    def blocked_by(self) -> dict[str, str]:
        return {run: status for run, status in self.runs.items() if status in ACTIVE}

    @property
    def object_uris(self) -> list[str]:
        return sorted(str(S3Uri(b, k)) for b, keys in self.objects.items() for k in keys)

    @property
    def rewritten(self) -> list[str]:
        return sorted(self.manifests + [uri for json_uri in self.qc_summaries for uri in _siblings(json_uri)])

    @property
    def empty(self) -> bool:
        return not (self.objects or any(self.items.values()) or self.run_items or self.manifests)

    def summary(self) -> dict[str, Any]:
        return {
            "sample": self.sample,
            "runs": sorted(self.runs),
            "blocked_by": self.blocked_by,
            "objects": len(self.object_uris),
            "object_versions": sum(len(v) for keys in self.objects.values() for v in keys.values()),
            "items": {table: len(keys) for table, keys in self.items.items()},
            "run_items_updated": sorted(self.run_items),
            "rewritten": self.rewritten,
            "regenerate": self.regenerate,
            "retained": self.retained,
        }

    def _add(self, bucket: str, versions: dict[str, list[str]]) -> None:
        for key, ids in versions.items():
            if ids:
                known = self.objects.setdefault(bucket, {}).setdefault(key, [])
                known += [v for v in ids if v not in known]


@dataclass(frozen=True)
class ErasureOutcome:
    erasure_id: str
    status: AuditStatus
    requested_by: str
    erased: dict[str, Any]
    remaining: list[dict[str, str]]


def names_sample(record: Item, sample: str) -> bool:
    """Whether a file filed under no sample (unassigned, or a run folder's) is the sample's: its
    header names it (VCF/BAM/CRAM), or its file name, or the sample folder of the raw layout."""
    if sample in ((record.get("validation") or {}).get("samples_in_header") or []):
        return True
    parts = S3Uri.parse(record["uri"]).key.split("/")
    name = parts[-1]
    if name.split(".", 1)[0] == sample or (len(parts) >= 4 and parts[2] == sample):
        return True
    return any((m := p.fullmatch(name)) and m["sample"] == sample for p in SAMPLE_FILE_NAMES)


def plan_erasure(sample: str, settings: Settings, repos: Repositories | None = None) -> ErasurePlan:
    """Everything that belongs to the sample; nothing is changed."""
    repos = repos or Repositories.from_settings(settings)
    history = repos.metadata.sample_history(sample)
    quality = repos.quality.of_sample(sample)
    tasks = repos.jobs.of_sample(sample)
    run_ids = sorted({i["run_id"] for i in history.runs + quality + tasks if i.get("run_id")})
    run_items = {run: repos.jobs.get(run) for run in run_ids}
    plan = ErasurePlan(sample, runs={run: (item or {}).get("status") for run, item in run_items.items()})
    projects = {(i["project"], i["run_id"]) for i in history.runs + quality if i.get("project")}
    projects |= {(item["project"], run) for run, item in run_items.items() if item and item.get("project")}

    filed_elsewhere = repos.metadata.files_of_sample(UNASSIGNED)
    for run in run_ids:
        filed_elsewhere += repos.metadata.files_of_sample(run_level_sample(run))
    named = [record for record in filed_elsewhere if names_sample(record, sample)]
    records = history.files + named
    plan.items = {
        settings.metadata_table: [repos.metadata.key_of(i) for i in history.items + named],
        settings.qc_table: [repos.quality.key_of(i) for i in quality],
        settings.jobs_table: [repos.jobs.key_of(i) for i in tasks],
    }

    for uri in (S3Uri.parse(r["uri"]) for r in records if r.get("uri", "").startswith("s3://")):
        plan._add(uri.bucket, {uri.key: versions_of(uri)})
    for project, run in sorted(projects):
        raw_prefix = raw_sample_prefix(project, run, sample)
        plan._add(settings.raw_bucket, versions_under(settings.raw_bucket, raw_prefix))
        plan._add(
            settings.processed_bucket,
            versions_under(settings.processed_bucket, PROCESSED_VCF_PREFIX + raw_prefix),
        )
        plan.retained += _run_folders(repos, run)
    for raw_key in list(plan.objects.get(settings.raw_bucket, {})):
        for key in processed_vcf_outputs(raw_key):
            plan._add(settings.processed_bucket, {key: versions_of(S3Uri(settings.processed_bucket, key))})
        if settings.raw_replica_bucket:  # replication keeps the key, and never replicates a delete
            replica = S3Uri(settings.raw_replica_bucket, raw_key)
            plan._add(settings.raw_replica_bucket, {raw_key: versions_of(replica)})

    for run, item in run_items.items():
        for bucket, prefix in _output_prefixes(run, item, settings):
            _plan_run_outputs(plan, bucket, prefix)
        delivered = versions_under(settings.delivery_bucket, delivered_prefix(run, sample))
        plan._add(settings.delivery_bucket, delivered)
        manifest = read_manifest(settings.delivery_bucket, run)
        if manifest and (
            sample in manifest.get("samples", []) or any(f.get("sample") == sample for f in manifest["files"])
        ):
            plan.manifests.append(str(S3Uri(settings.delivery_bucket, manifest_key(run))))
        if item:
            change = _run_change(item, sample, set(plan.object_uris))
            if change.after:
                plan.run_items[run] = change
    plan.regenerate.sort()
    return plan


def _output_prefixes(run: str, item: Item | None, settings: Settings) -> list[tuple[str, str]]:
    """Where a run may have written: its outputs and intermediates by the layout, and the output
    URI its item records (a run started by hand may have put its outputs elsewhere)."""
    processed = settings.processed_bucket
    prefixes = {(processed, run_outputs_key(run)), (processed, run_work_key(run))}
    recorded = (item or {}).get("output_uri") or ""
    if recorded.startswith("s3://"):
        uri = S3Uri.parse(recorded)
        prefixes.add((uri.bucket, uri.key.rstrip("/")))
    # a recorded URI inside the layout's prefix (runs/<run>/results) is read with it, once
    return sorted(
        (bucket, key)
        for bucket, key in prefixes
        if not any(b == bucket and key.startswith(f"{k}/") for b, k in prefixes)
    )


def _plan_run_outputs(plan: ErasurePlan, bucket: str, prefix: str) -> None:
    found = versions_under(bucket, f"{prefix}/")
    groups: dict[str, list[str]] = defaultdict(list)
    summaries: list[str] = []
    for key in found:
        output = parse_output(key.removeprefix(f"{prefix}/"))
        if output.owner is Owner.SAMPLE and output.name == plan.sample:
            plan._add(bucket, {key: found[key]})
        elif output.owner is Owner.GROUP and output.name:
            groups[output.name].append(key)
        elif output.owner is Owner.QC_SUMMARY:
            summaries.append(key)
        elif output.owner is Owner.MIXED:
            _regenerate(plan, bucket, {key: found[key]})
    for name, keys in groups.items():
        if _group_holds(bucket, keys, name, plan.sample):
            _regenerate(plan, bucket, {key: found[key] for key in keys})
    tables = [key for key in summaries if key.endswith(QC_SUMMARY_JSON)]
    for key in tables:
        if plan.sample in _qc_summary(S3Uri(bucket, key)).samples:
            plan.qc_summaries.append(str(S3Uri(bucket, key)))
    if not tables:  # the tables cannot be rebuilt without their JSON: they go, for a re-run
        _regenerate(plan, bucket, {key: found[key] for key in summaries})


def _regenerate(plan: ErasurePlan, bucket: str, versions: dict[str, list[str]]) -> None:
    plan._add(bucket, versions)
    for key in versions:
        if (uri := str(S3Uri(bucket, key))) not in plan.regenerate:
            plan.regenerate.append(uri)


def _group_holds(bucket: str, keys: list[str], group: str, sample: str) -> bool:
    """Whether a joint-calling group holds the sample: the first readable VCF/BCF header of the
    group's files says; without one, the group named like the sample (the default group) does."""
    for key in sorted(k for k in keys if k.endswith(VARIANT_FILES)):
        samples = header_samples(S3Uri(bucket, key))
        if samples is not None:
            return sample in samples
    return group == sample


def header_samples(uri: S3Uri) -> list[str] | None:
    """The sample columns of a bgzipped VCF or a BCF in S3, read from its first blocks only; None if
    it is gone or has no #CHROM line there."""
    try:
        body = client("s3").get_object(Bucket=uri.bucket, Key=uri.key)["Body"]
    except ClientError as error:
        if is_missing(error):
            return None
        raise
    text, decompressor = b"", zlib.decompressobj(31)
    try:
        for chunk in body.iter_chunks(1 << 16):
            pending = chunk
            while pending:
                text += decompressor.decompress(pending)
                pending = decompressor.unused_data if decompressor.eof else b""
                if decompressor.eof:
                    decompressor = zlib.decompressobj(31)
            line = re.search(rb"(?:^|[\n\0])#CHROM\t([^\n\0]*)[\n\0]", text)
            if line:
                return [s.decode() for s in line.group(1).split(b"\t")[8:]]
    except zlib.error:
        return None
    finally:
        body.close()
    return None


def _qc_summary(uri: S3Uri) -> QcSummary:
    body = client("s3").get_object(Bucket=uri.bucket, Key=uri.key)["Body"]
    return QcSummary.from_json(body.read().decode())


def _siblings(json_uri: str) -> list[str]:
    root = json_uri.removesuffix(QC_SUMMARY_JSON)
    return [root + name for name in QC_SUMMARY_FILES]


def _run_folders(repos: Repositories, run: str) -> list[str]:
    """The raw run folders (prefix up to the folder) recorded for a run."""
    folders = set()
    for record in repos.metadata.files_of_sample(run_level_sample(run)):
        uri = S3Uri.parse(record["uri"])
        parts = uri.key.split("/")
        if len(parts) >= 4:
            folders.add(str(S3Uri(uri.bucket, "/".join(parts[:3]) + "/")))
    return sorted(folders)


def _run_change(item: Item, sample: str, erased_uris: set[str]) -> RunChange:
    """The run item's attributes that name the sample, before and after it leaves them."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    samples = item.get("samples") or []
    if sample in samples:
        before["samples"], after["samples"] = samples, [s for s in samples if s != sample]
    inputs = item.get("inputs") or []
    kept = [u for u in inputs if u not in erased_uris and not _raw_of(u, sample)]
    if kept != inputs:
        before["inputs"], after["inputs"] = inputs, kept
    delivery = item.get("delivery") or {}
    if sample in (delivery.get("samples") or []):
        before["delivery"] = delivery
        after["delivery"] = {**delivery, "samples": [s for s in delivery["samples"] if s != sample]}
    return RunChange(before, after)


def _raw_of(uri: str, sample: str) -> bool:
    return uri.startswith("s3://") and place_of(S3Uri.parse(uri).key).sample == sample


def ensure_settled(plan: ErasurePlan) -> None:
    """ErasureRefused, naming the runs, while a run of the sample is SUBMITTED or RUNNING."""
    if plan.blocked_by:
        active = ", ".join(f"{run} ({status})" for run, status in sorted(plan.blocked_by.items()))
        raise ErasureRefused(
            f"sample {plan.sample} is in a run that is still active: {active}; it would write the "
            "sample's data again. Wait for it to finish (or abort it), then erase."
        )


def erase_sample(
    plan: ErasurePlan, reason: str, settings: Settings, repos: Repositories | None = None
) -> ErasureOutcome:
    """Carry out a plan from `plan_erasure`: audit record STARTED, objects, rewrites, then (when no
    object is left) run items and table items, and the audit record SUCCEEDED or FAILED."""
    ensure_settled(plan)
    repos = repos or Repositories.from_settings(settings)
    audit = ErasureAudit(settings.audit_table)
    requested_by = caller_arn()
    record = audit.start(plan.sample, reason, requested_by, plan.summary())

    failures: list[Failure] = []
    for bucket, versions in sorted(plan.objects.items()):
        failures += delete_versions(bucket, versions)
    new_versions: dict[str, str] = {}
    for uri in plan.qc_summaries:
        failures += _rewrite_qc_summary(uri, plan.sample, new_versions)
    for uri in plan.manifests:
        failures += _rewrite_manifest(uri, plan.sample, new_versions)
    left = _left_over(plan, new_versions)
    failures += [f for f in left if f.what not in {g.what for g in failures}]

    items: dict[str, int] = {}
    if left:
        why = "kept while objects are left: a new attempt finds them from these records"
        failures += [
            Failure(f"{table}: {len(keys)} items", why) for table, keys in plan.items.items() if keys
        ]
    else:
        failures += _scrub_runs(plan, repos)
        failures += _delete_items(plan, items)
    status = AuditStatus.FAILED if failures else AuditStatus.SUCCEEDED
    erased = {
        "objects": [u for u in plan.object_uris if u not in {f.what.split("?")[0] for f in left}],
        "rewritten": plan.rewritten,
        "regenerate": plan.regenerate,
        "items": items,
        "run_items": sorted(plan.run_items) if not left else [],
        "retained": plan.retained,
    }
    remaining = [f.as_dict() for f in failures]
    audit.finish(record["erasure_id"], status, erased, remaining)
    return ErasureOutcome(record["erasure_id"], status, requested_by, erased, remaining)


def _replace(uri: S3Uri, body: bytes, content_type: str, new_versions: dict[str, str]) -> list[Failure]:
    """Put the new content, with the object's tags (a delivery's recipient tag is what lets its partner
    read it), then delete every older version (they hold the sample)."""
    old = versions_of(uri)
    s3 = client("s3")
    tags = s3.get_object_tagging(Bucket=uri.bucket, Key=uri.key)["TagSet"]
    tagging = urlencode({tag["Key"]: tag["Value"] for tag in tags})
    response = s3.put_object(
        Bucket=uri.bucket, Key=uri.key, Body=body, ContentType=content_type, Tagging=tagging
    )
    new_versions[str(uri)] = response.get("VersionId") or "null"
    return delete_versions(uri.bucket, {uri.key: [v for v in old if v != new_versions[str(uri)]]})


def _rewrite_qc_summary(json_uri: str, sample: str, new_versions: dict[str, str]) -> list[Failure]:
    summary = _qc_summary(S3Uri.parse(json_uri))
    del summary.samples[sample]
    failures: list[Failure] = []
    with tempfile.TemporaryDirectory(prefix="seqpipe-erase-") as tmp:
        paths = [Path(tmp) / name.rsplit("/", 1)[-1] for name in QC_SUMMARY_FILES]
        write_summary(summary, *paths)
        for uri, path in zip(_siblings(json_uri), paths, strict=True):
            kind = "application/json" if uri.endswith(".json") else "text/tab-separated-values"
            failures += _replace(S3Uri.parse(uri), path.read_bytes(), kind, new_versions)
    return failures


def _rewrite_manifest(uri: str, sample: str, new_versions: dict[str, str]) -> list[Failure]:
    target = S3Uri.parse(uri)
    manifest = json.loads(client("s3").get_object(Bucket=target.bucket, Key=target.key)["Body"].read())
    manifest["files"] = [f for f in manifest.get("files", []) if f.get("sample") != sample]
    manifest["samples"] = [s for s in manifest.get("samples", []) if s != sample]
    return _replace(target, json.dumps(manifest, indent=2).encode(), "application/json", new_versions)


def _left_over(plan: ErasurePlan, new_versions: dict[str, str]) -> list[Failure]:
    """What the buckets still hold of the plan, listed again: any version of an erased key, any
    version but the new one of a rewritten key."""
    left = []
    for uri in plan.object_uris:
        versions = versions_of(S3Uri.parse(uri))
        left += [Failure(f"{uri}?versionId={v}", "still stored after the delete") for v in versions]
    for uri, version in new_versions.items():
        left += [
            Failure(f"{uri}?versionId={v}", "an older version is still stored")
            for v in versions_of(S3Uri.parse(uri))
            if v != version
        ]
    return left


def _scrub_runs(plan: ErasurePlan, repos: Repositories) -> list[Failure]:
    failures = []
    for run, change in sorted(plan.run_items.items()):
        try:
            repos.jobs.replace_attributes(run, change.before, change.after)
        except ClientError as error:
            failures.append(Failure(f"run item {run}: {', '.join(change.after)}", str(error)))
    return failures


def _delete_items(plan: ErasurePlan, deleted: dict[str, int]) -> list[Failure]:
    # DeleteItem one by one (a sample has tens of items): the erasure role may delete, not batch-write.
    dynamodb = resource("dynamodb")
    failures = []
    for table, keys in plan.items.items():
        deleted[table] = 0
        for key in keys:
            try:
                dynamodb.Table(table).delete_item(Key=key)
                deleted[table] += 1
            except ClientError as error:
                failures.append(Failure(f"{table}: {json.dumps(key, sort_keys=True)}", str(error)))
    return failures
