"""queue-watch: every 5 minutes (EventBridge schedule) → OldestRunnableSeconds, the age of the oldest job
waiting RUNNABLE in the run queues (seqpipe.execution.queue_wait), which the runnable-seconds alarm
watches: Batch itself publishes no metric of a job that waits for capacity.
"""

from __future__ import annotations

import time
from typing import Any

from seqpipe.aws.settings import Settings
from seqpipe.execution.queue_wait import oldest_runnable_seconds
from seqpipe.handlers.observability import add_metric, tools
from seqpipe.handlers.registry import OLDEST_RUNNABLE_SECONDS
from seqpipe.storage.s3 import client

logger, metrics, tracer = tools("queue-watch")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    queues = list(Settings.from_env().job_queues)
    seconds = oldest_runnable_seconds(client("batch"), queues, int(time.time() * 1000))
    add_metric(metrics, OLDEST_RUNNABLE_SECONDS, seconds)
    logger.info("oldest RUNNABLE job", extra={"queues": queues, "seconds": seconds})
    return {"queues": queues, "oldest_runnable_seconds": seconds}
