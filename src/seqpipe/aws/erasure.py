"""GDPR erasure of one sample: its objects in every bucket, its items in every table, an audit record.

What belongs to a sample is found through the data plane's own indexes (no Scan):
- genomics-metadata: the sample's partition (the sample, its runs, its files);
- quality-metrics: the sample's partition (QC in every run);
- processing-jobs: the sample's tasks (by-sample index); run items keep their other samples but lose
  this one from their `samples` list;
- raw bucket: the recorded file URIs and everything under `<project>/<run>/<sample>/`;
- processed bucket: the run outputs named after the sample (`<folder>/<sample>.*`, `<sample>/`);
- delivery bucket: `<run>/<sample>/` and the sample's entries in the run's manifest (rewritten).
Every version of every object is deleted (versioned buckets keep deleted data otherwise).
Files that mix samples (joint VCFs, the MultiQC report) cannot be cut: they are listed in the audit
record as `shared_retained` for a re-run of the affected runs without the sample.

The audit record (genomics-metadata, pk `AUDIT#ERASURE`) keeps who, when, why and what was erased
(counts and object keys) and nothing of the sample's data.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from seqpipe.aws.layout import delivered_prefix, manifest_key, raw_sample_prefix, run_outputs_key
from seqpipe.aws.repositories import Repositories, now_iso
from seqpipe.aws.settings import Settings
from seqpipe.storage.s3 import S3Uri, client

# Outputs that hold several samples' data: kept, and listed for re-generation.
SHARED_OUTPUT = re.compile(r"(^|/)(vcf/joint/|qc/multiqc_|multiqc_report\.html|qc/qc_summary\.tsv)")


@dataclass
class ErasurePlan:
    sample: str
    runs: list[str] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)  # s3:// URIs (all versions are deleted)
    manifests: list[str] = field(default_factory=list)  # delivery manifests to rewrite
    items: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # table → keys
    run_items: list[str] = field(default_factory=list)  # runs whose `samples` list loses the sample
    shared_retained: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.objects or any(self.items.values()) or self.run_items or self.manifests)

    def summary(self) -> dict[str, Any]:
        return {
            "sample": self.sample,
            "runs": self.runs,
            "objects": len(self.objects),
            "items": {table: len(keys) for table, keys in self.items.items()},
            "run_items_updated": len(self.run_items),
            "manifests_rewritten": len(self.manifests),
            "shared_retained": self.shared_retained,
        }


@dataclass(frozen=True)
class ErasureRecord:
    sample: str
    requested_by: str
    reason: str
    erased_at: str
    plan: dict[str, Any]
    object_uris: list[str]


def _keys_under(bucket: str, prefix: str) -> list[str]:
    s3 = client("s3")
    keys: set[str] = set()
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            keys.update(v["Key"] for v in page.get("Versions", []) + page.get("DeleteMarkers", []))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchBucket":
            raise
    return sorted(keys)


def _named_after(key: str, sample: str) -> bool:
    """The pipeline names per-sample outputs `{sample}.<...>` (or puts them in a `{sample}/` folder).
    `{sample}_` is not matched: sample S1 must not take S1_B's files with it."""
    return key.rsplit("/", 1)[-1].startswith(f"{sample}.") or f"/{sample}/" in f"/{key}"


def plan_erasure(sample: str, settings: Settings, repos: Repositories | None = None) -> ErasurePlan:
    """Everything that belongs to the sample; nothing is changed."""
    repos = repos or Repositories.from_settings(settings)
    plan = ErasurePlan(sample)
    history = repos.metadata.sample_history(sample)
    quality = repos.quality.of_sample(sample)
    tasks = repos.jobs.of_sample(sample)
    plan.items = {
        settings.metadata_table: [repos.metadata.key_of(i) for i in history.items],
        settings.qc_table: [repos.quality.key_of(i) for i in quality],
        settings.jobs_table: [repos.jobs.key_of(i) for i in tasks],
    }
    run_places = {(i.get("project"), i["run_id"]) for i in history.runs + quality}
    plan.runs = sorted({run for _, run in run_places})

    objects = {i["uri"] for i in history.files if i.get("uri", "").startswith("s3://")}
    for project, run in sorted(run_places, key=str):
        if project:
            objects |= {
                str(S3Uri(settings.raw_bucket, k))
                for k in _keys_under(settings.raw_bucket, raw_sample_prefix(project, run, sample))
            }
        outputs = f"{run_outputs_key(run)}/"
        for key in _keys_under(settings.processed_bucket, outputs):
            if SHARED_OUTPUT.search(key):
                plan.shared_retained.append(str(S3Uri(settings.processed_bucket, key)))
            elif _named_after(key.removeprefix(outputs), sample):
                objects.add(str(S3Uri(settings.processed_bucket, key)))
        objects |= {
            str(S3Uri(settings.delivery_bucket, k))
            for k in _keys_under(settings.delivery_bucket, delivered_prefix(run, sample))
        }
        if _keys_under(settings.delivery_bucket, manifest_key(run)):
            plan.manifests.append(str(S3Uri(settings.delivery_bucket, manifest_key(run))))
        run_item = repos.jobs.get(run)
        if run_item and sample in (run_item.get("samples") or []):
            plan.run_items.append(run)
    plan.objects = sorted(objects)
    return plan


def _delete_all_versions(uri: str) -> None:
    s3 = client("s3")
    target = S3Uri.parse(uri)
    versions = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=target.bucket, Prefix=target.key):
        versions += [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            if v["Key"] == target.key
        ]
    for start in range(0, len(versions), 1000):
        s3.delete_objects(
            Bucket=target.bucket, Delete={"Objects": versions[start : start + 1000], "Quiet": True}
        )


def _rewrite_manifest(uri: str, sample: str) -> None:
    s3 = client("s3")
    target = S3Uri.parse(uri)
    manifest = json.loads(s3.get_object(Bucket=target.bucket, Key=target.key)["Body"].read())
    manifest["files"] = [f for f in manifest.get("files", []) if f.get("sample") != sample]
    manifest["samples"] = [s for s in manifest.get("samples", []) if s != sample]
    body = json.dumps(manifest, indent=2).encode()
    _delete_all_versions(uri)  # the old versions list the sample's files
    s3.put_object(Bucket=target.bucket, Key=target.key, Body=body, ContentType="application/json")


def erase_sample(
    plan: ErasurePlan, requested_by: str, reason: str, settings: Settings, repos: Repositories | None = None
) -> ErasureRecord:
    """Carry out a plan from `plan_erasure`, then write the audit record (last, so it says what was done)."""
    repos = repos or Repositories.from_settings(settings)
    for uri in plan.objects:
        _delete_all_versions(uri)
    for uri in plan.manifests:
        _rewrite_manifest(uri, plan.sample)
    dynamodb = boto3.resource("dynamodb")
    for table, keys in plan.items.items():
        # DeleteItem one by one (a sample has tens of items): the erasure role may delete, not write.
        for key in keys:
            dynamodb.Table(table).delete_item(Key=key)
    for run in plan.run_items:
        repos.jobs.remove_sample(run, plan.sample)
    record = ErasureRecord(
        sample=plan.sample,
        requested_by=requested_by,
        reason=reason,
        erased_at=now_iso(),
        plan=plan.summary(),
        object_uris=plan.objects,
    )
    repos.metadata.record_erasure(**asdict(record))
    return record
