"""Copy a run's approved outputs to the delivery bucket with a manifest of checksums.

Used by the metadata-updater Lambda when a run is finalized and by `seqpipe deliver`. Copies are
server-side (no bytes through the caller); the SHA-256 comes from the object's `sha256` metadata when
the uploader set it, otherwise from streaming the object once.
"""

from __future__ import annotations

import json
from typing import Any

from seqpipe.aws.repositories import now_iso
from seqpipe.aws.s3 import S3Uri, client, list_keys, sha256_of

MANIFEST_NAME = "manifest.json"


def deliverable_keys(outdir: S3Uri, sample: str) -> list[dict[str, Any]]:
    """A sample's deliverables in the pipeline's output layout: CRAM (+index, md5) and its VCFs (+tbi)."""
    wanted = []
    for prefix in (f"cram/{sample}.cram", f"vcf/{sample}."):
        wanted += list_keys(outdir.join(prefix))
    return wanted


def deliver(run_id: str, outdir_uri: str, samples: list[str], delivery_bucket: str) -> dict[str, Any]:
    """Copy each sample's deliverables to s3://<delivery>/<run_id>/<sample>/ and write the manifest."""
    s3 = client("s3")
    outdir = S3Uri.parse(outdir_uri)
    files = []
    for sample in samples:
        for item in deliverable_keys(outdir, sample):
            source = S3Uri(outdir.bucket, item["Key"])
            name = item["Key"].rsplit("/", 1)[-1]
            target = S3Uri(delivery_bucket, f"{run_id}/{sample}/{name}")
            s3.copy({"Bucket": source.bucket, "Key": source.key}, target.bucket, target.key)
            files.append(
                {
                    "sample": sample,
                    "uri": str(target),
                    "source": str(source),
                    "size": item["Size"],
                    "sha256": sha256_of(source),
                }
            )
    manifest = {"run_id": run_id, "created_at": now_iso(), "samples": samples, "files": files}
    manifest_uri = S3Uri(delivery_bucket, f"{run_id}/{MANIFEST_NAME}")
    s3.put_object(
        Bucket=manifest_uri.bucket,
        Key=manifest_uri.key,
        ContentType="application/json",
        Body=json.dumps(manifest, indent=2).encode(),
    )
    return {"manifest": str(manifest_uri), "files": len(files), "samples": samples}
