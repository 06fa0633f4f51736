"""Copy a run's approved outputs to the delivery bucket with a manifest of checksums.

Used by the metadata-updater Lambda when a run is finalized and by `seqpipe deliver`. Copies are
server-side (no bytes through the caller); the SHA-256 comes from the object's `sha256` metadata when
the uploader set it, otherwise from streaming the object once.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import ClientError

from seqpipe.aws.layout import delivered_prefix, manifest_key
from seqpipe.aws.repositories import now_iso
from seqpipe.storage.checksums import sha256_of
from seqpipe.storage.s3 import S3Uri, client, list_keys


def deliverable_keys(outdir: S3Uri, sample: str) -> list[dict[str, Any]]:
    """A sample's deliverables in the pipeline's output layout: CRAM (+index, md5) and its VCFs (+tbi)."""
    wanted = []
    for prefix in (f"cram/{sample}.cram", f"vcf/{sample}."):
        wanted += list_keys(outdir.join(prefix))
    return wanted


# The tag that names the partner a delivered object is for: the delivery bucket's policy lets a known
# partner's account read the objects tagged with its name, and nothing else (docs/infrastructure.md).
RECIPIENT_TAG = "seqpipe-recipient"
RECIPIENT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def deliver(
    run_id: str, outdir_uri: str, samples: list[str], delivery_bucket: str, recipient: str | None = None
) -> dict[str, Any]:
    """Copy each sample's deliverables to s3://<delivery>/<run_id>/<sample>/ and write the manifest;
    with a `recipient` (a partner of the infra config), the copies and the manifest are tagged for it."""
    if recipient is not None and not RECIPIENT_PATTERN.match(recipient):
        raise ValueError(f"recipient {recipient!r}: lower-case letters, digits and '-' (a partner's name)")
    s3 = client("s3")
    outdir = S3Uri.parse(outdir_uri)
    tagging = _tagging(recipient)
    extra = {"Tagging": tagging, "TaggingDirective": "REPLACE"} if tagging else None
    files = []
    for sample in samples:
        for item in deliverable_keys(outdir, sample):
            source = S3Uri(outdir.bucket, item["Key"])
            name = item["Key"].rsplit("/", 1)[-1]
            target = S3Uri(delivery_bucket, delivered_prefix(run_id, sample) + name)
            s3.copy({"Bucket": source.bucket, "Key": source.key}, target.bucket, target.key, ExtraArgs=extra)
            files.append(
                {
                    "sample": sample,
                    "uri": str(target),
                    "source": str(source),
                    "size": item["Size"],
                    "sha256": sha256_of(source),
                }
            )
    extras = {"recipient": recipient} if recipient else {}
    return write_manifest(run_id, samples, files, delivery_bucket, **extras)


def write_manifest(
    run_id: str,
    samples: list[str],
    files: list[dict[str, Any]],
    delivery_bucket: str,
    created_at: str | None = None,
    **extras: Any,
) -> dict[str, Any]:
    """Write the run's manifest (s3://<delivery>/<run_id>/manifest.json), with `extras` (the recipient,
    the links handed out); returns what the run item keeps of it (manifest URI, number of files,
    samples)."""
    manifest = {
        "run_id": run_id,
        "created_at": created_at or now_iso(),
        "samples": samples,
        "files": files,
        **extras,
    }
    manifest_uri = S3Uri(delivery_bucket, manifest_key(run_id))
    tagging = _tagging(extras.get("recipient"))
    client("s3").put_object(
        Bucket=manifest_uri.bucket,
        Key=manifest_uri.key,
        ContentType="application/json",
        Body=json.dumps(manifest, indent=2).encode(),
        **({"Tagging": tagging} if tagging else {}),
    )
    return {"manifest": str(manifest_uri), "files": len(files), "samples": samples}


def _tagging(recipient: str | None) -> str:
    return urlencode({RECIPIENT_TAG: recipient}) if recipient else ""


def read_manifest(delivery_bucket: str, run_id: str) -> dict[str, Any] | None:
    """The run's manifest, whoever wrote it (the state machine's finalize step or `seqpipe deliver`);
    None when the run has not been delivered."""
    try:
        body = client("s3").get_object(Bucket=delivery_bucket, Key=manifest_key(run_id))["Body"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NoSuchBucket"}:
            return None
        raise
    return json.loads(body.read())
