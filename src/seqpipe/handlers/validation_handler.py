"""validation-handler: S3 Object Created (EventBridge) → validate → one record → quarantine if invalid
(once per object version, however often and in whatever order the events arrive: seqpipe.aws.ingest).

Also the state machine's ValidateInputs step ({"action": "validate_inputs", "inputs": [...]}).
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel

from seqpipe.aws import ingest
from seqpipe.aws.repositories import Repositories
from seqpipe.handlers.models import ValidateInputs
from seqpipe.handlers.observability import add_metric, tools
from seqpipe.handlers.registry import (
    BYTES_VALIDATED,
    DUPLICATE_EVENTS,
    INPUTS_VALIDATED,
    OBJECTS_QUARANTINED,
    OBJECTS_VALIDATED,
)

logger, metrics, tracer = tools("validation-handler")


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)  # responses name samples; traces outlive erasure
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("action") == "validate_inputs":
        request = parse(event=event, model=ValidateInputs)
        logger.append_keys(run_id=request.run_id)
        tracer.put_annotation(key="run_id", value=request.run_id)
        results = ingest.validate_inputs(request.inputs)
        add_metric(metrics, INPUTS_VALIDATED, len(results))
        return {"inputs": results}
    s3_event = parse(event=event, model=S3EventNotificationEventBridgeModel)
    obj = s3_event.detail.object
    version = ingest.ObjectVersion(
        s3_event.detail.bucket.name,
        obj.key,
        obj.etag or "",
        int(obj.size or 0),
        obj.sequencer,
        obj.version_id,
    )
    # the invocation holds the object's validation until Lambda would have stopped it
    deadline = time.time() + context.get_remaining_time_in_millis() / 1000
    outcome = ingest.ingest_object(Repositories.from_env(), version, context.aws_request_id, deadline)
    logger.append_keys(sample=outcome["sample"])
    # X-Ray annotations are indexed and kept outside erasure's reach: run ids only, never a sample id
    run_id = ingest.place_of(obj.key).run_id
    if run_id:
        tracer.put_annotation(key="run_id", value=run_id)
    logger.info("object validated", extra={"outcome": outcome})
    if outcome["created"]:
        add_metric(metrics, OBJECTS_VALIDATED, 1)
        add_metric(metrics, BYTES_VALIDATED, version.size)
        if outcome["status"] == "QUARANTINED":
            add_metric(metrics, OBJECTS_QUARANTINED, 1)
    elif outcome["status"] != ingest.SUPERSEDED:  # a superseded event is no duplicate: its object changed
        add_metric(metrics, DUPLICATE_EVENTS, 1)
    return outcome
