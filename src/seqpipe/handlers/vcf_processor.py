"""vcf-processor: a raw VCF (EventBridge Object Created, or {"bucket", "key"}) → normalized,
bgzipped, indexed and summarized in the processed bucket."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel

from seqpipe.aws.ingest import place_of
from seqpipe.aws.settings import Settings
from seqpipe.aws.variants import process_vcf
from seqpipe.handlers.models import ProcessVcf
from seqpipe.handlers.observability import add_metric, tools
from seqpipe.handlers.registry import VARIANTS_PROCESSED, VCFS_SKIPPED
from seqpipe.storage.s3 import S3Uri

logger, metrics, tracer = tools("vcf-processor")


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)  # responses name samples; traces outlive erasure
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "detail" in event:
        detail = parse(event=event, model=S3EventNotificationEventBridgeModel).detail
        raw = S3Uri(detail.bucket.name, detail.object.key)
    else:
        request = parse(event=event, model=ProcessVcf)
        raw = S3Uri(request.bucket, request.key)
    logger.append_keys(sample=place_of(raw.key).sample)
    # optional local FASTA (e.g. on a mounted layer) for left-alignment
    summary = process_vcf(raw, Settings.from_env().processed_bucket, os.environ.get("REFERENCE_FASTA"))
    if summary.get("skipped"):
        logger.warning("vcf not processed: invalid", extra={"errors": summary["errors"]})
        add_metric(metrics, VCFS_SKIPPED, 1)
        return summary
    add_metric(metrics, VARIANTS_PROCESSED, sum(summary["counts"].values()))
    logger.info("vcf processed", extra={"output": summary["output"], "counts": summary["counts"]})
    return summary
