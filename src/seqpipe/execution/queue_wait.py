"""How long jobs have waited for capacity: the age of the oldest RUNNABLE job of Batch queues.

AWS Batch publishes no CloudWatch metric of its queues and records no time at which a job became
RUNNABLE; the queue-watch Lambda publishes this age for the runnable-seconds alarm. It is counted from
the job's submission (`createdAt`): a job reaches RUNNABLE seconds after it, as the executor submits
jobs without dependencies, so a long wait there is a wait for a host (no capacity, a vCPU limit, or an
instance type no compute environment offers).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def oldest_runnable_seconds(batch: Any, queues: Iterable[str], now_ms: int) -> float:
    """Seconds since the submission of the oldest job still RUNNABLE in these queues (0: none waits)."""
    submitted = [
        summary["createdAt"]
        for queue in queues
        for page in batch.get_paginator("list_jobs").paginate(jobQueue=queue, jobStatus="RUNNABLE")
        for summary in page["jobSummaryList"]
    ]
    return max(0.0, (now_ms - min(submitted)) / 1000) if submitted else 0.0
