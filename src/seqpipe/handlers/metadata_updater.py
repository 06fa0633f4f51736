"""metadata-updater: the run's state changes (record, transition, finalize with delivery)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse

from seqpipe.aws import runs
from seqpipe.aws.repositories import Repositories
from seqpipe.handlers.models import Finalize, MetadataRequest, RecordRun, Transition
from seqpipe.handlers.observability import add_metric, tools
from seqpipe.handlers.registry import DUPLICATE_STARTS, RUNS_STARTED, SAMPLES_DELIVERED, STATUS_CHANGES

logger, metrics, tracer = tools("metadata-updater")


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)  # responses name samples; traces outlive erasure
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse(event={"request": event}, model=MetadataRequest).request
    logger.append_keys(run_id=request.run_id, action=request.action)
    tracer.put_annotation(key="run_id", value=request.run_id)
    repos = Repositories.from_env()
    # each request's fields are the arguments of its seqpipe.aws.runs function
    fields = request.model_dump(exclude={"action"})
    if isinstance(request, RecordRun):
        result = runs.record_run(repos, **fields)
        add_metric(metrics, RUNS_STARTED if result["created"] else DUPLICATE_STARTS, 1)
    elif isinstance(request, Transition):
        result = runs.transition(repos, **fields)
        add_metric(metrics, STATUS_CHANGES, 1)
    else:
        assert isinstance(request, Finalize)
        result = runs.finalize(repos, **fields)
        add_metric(metrics, SAMPLES_DELIVERED, len(request.approved))
    logger.info("run updated", extra={"result": result})
    return result
