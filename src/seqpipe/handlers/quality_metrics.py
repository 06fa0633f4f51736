"""quality-metrics: the run's QC summary (qc/qc_summary.json, from the pipeline) → one QC item per sample."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse

from seqpipe.aws import qc
from seqpipe.aws.repositories import Repositories
from seqpipe.handlers.models import CollectRunQc
from seqpipe.handlers.observability import add_metric, tools
from seqpipe.handlers.registry import QC_FAILURES, SAMPLES_QC_PASSED

logger, metrics, tracer = tools("quality-metrics")


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)  # responses name samples; traces outlive erasure
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse(event=event, model=CollectRunQc)
    logger.append_keys(run_id=request.run_id)
    tracer.put_annotation(key="run_id", value=request.run_id)
    result = qc.collect_run(
        Repositories.from_env().quality,
        request.run_id,
        request.project,
        request.samples,
        request.output_uri,
    )
    add_metric(metrics, SAMPLES_QC_PASSED, len(result["passed"]))
    add_metric(metrics, QC_FAILURES, len(result["failed"]))
    for sample in result["failed"]:
        logger.warning("sample failed QC", extra={"sample": sample, "metrics": result["metrics"][sample]})
    return result
