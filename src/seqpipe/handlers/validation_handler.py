"""validation-handler: S3 Object Created (EventBridge) → validate → one record → quarantine if invalid.

Also the state machine's ValidateInputs step ({"action": "validate_inputs", "inputs": [...]}).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel

from seqpipe.aws import ingest
from seqpipe.aws.repositories import Repositories
from seqpipe.handlers.models import ValidateInputs
from seqpipe.handlers.observability import tools

logger, metrics, tracer = tools("validation-handler")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("action") == "validate_inputs":
        request = parse(event=event, model=ValidateInputs)
        logger.append_keys(run_id=request.run_id)
        tracer.put_annotation(key="run_id", value=request.run_id)
        results = ingest.validate_inputs(request.inputs)
        metrics.add_metric(name="InputsValidated", unit=MetricUnit.Count, value=len(results))
        return {"inputs": results}
    s3_event = parse(event=event, model=S3EventNotificationEventBridgeModel)
    obj, bucket = s3_event.detail.object, s3_event.detail.bucket.name
    outcome = ingest.ingest_object(Repositories.from_env(), bucket, obj.key, obj.etag or "", obj.size or 0)
    logger.append_keys(sample=outcome["sample"])
    tracer.put_annotation(key="sample", value=outcome["sample"])
    logger.info("object validated", extra={"outcome": outcome})
    if outcome["created"]:
        metrics.add_metric(name="ObjectsValidated", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="BytesValidated", unit=MetricUnit.Bytes, value=obj.size or 0)
        if outcome["status"] == "QUARANTINED":
            metrics.add_metric(name="ObjectsQuarantined", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="DuplicateEvents", unit=MetricUnit.Count, value=1)
    return outcome
