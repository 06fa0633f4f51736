"""run-cleanup: an execution of the run state machine ended FAILED, TIMED_OUT or ABORTED (EventBridge)
→ the run it owns is ended and the run's Batch jobs still active are terminated (seqpipe.aws.runs.end_run).

An aborted or timed-out execution runs none of its own states, so this is the only place that sees
every way a run can end badly; it publishes RunTimeouts, which the run-timeouts alarm watches.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse

from seqpipe.aws import runs
from seqpipe.aws.repositories import Repositories
from seqpipe.aws.settings import Settings
from seqpipe.handlers.models import RunEnded
from seqpipe.handlers.observability import add_metric, tools
from seqpipe.handlers.registry import JOBS_TERMINATED, RUN_TIMEOUTS
from seqpipe.storage.s3 import client

logger, metrics, tracer = tools("run-cleanup")


class EventWithoutInput(ValueError):
    """The event does not carry the execution's input (too large), so the run is unknown."""


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ended = parse(event=event, model=RunEnded).detail
    if ended.input is None:
        raise EventWithoutInput(
            f"execution {ended.execution_arn} ended {ended.status}, but its input is not in the event: "
            "end its run and terminate its jobs by hand (runbook: a failed run)"
        )
    run_id = ended.input.run_id
    logger.append_keys(run_id=run_id, execution=ended.name, status=ended.status)
    tracer.put_annotation(key="run_id", value=run_id)
    end = runs.ExecutionEnd(run_id, ended.execution_arn, ended.status, ended.error, ended.cause)
    result = runs.end_run(Repositories.from_env(), client("batch"), list(Settings.from_env().job_queues), end)
    if result["timed_out"]:
        add_metric(metrics, RUN_TIMEOUTS, 1)
    add_metric(metrics, JOBS_TERMINATED, len(result["terminated"]))
    logger.info("run ended" if result["owned"] else "not the run's owner: nothing done", extra=result)
    return result
