"""Let a Snakemake run exit as soon as its workflow is done.

Snakemake 9's job scheduler wakes itself after each pass with a non-daemon ``threading.Timer`` of its job
rate limiter's timespan (``--max-jobs-per-timespan``, default 100/1s), so a finished run's process waits
up to that timespan, and with every profile's own limit longer, before it can exit. Once the workflow
has succeeded or failed nothing is left to schedule, and the workflow's onsuccess/onerror handlers cancel
those timers.
"""

from __future__ import annotations

import threading

# The scheduler's timer runs a lambda defined in JobScheduler._schedule_reevalutation (sic).
_SCHEDULER_TIMER = "_schedule_reevalutation"


def cancel_scheduler_timers() -> int:
    """Cancel the job scheduler's pending wake-up timers; returns how many were pending."""
    timers = [
        thread
        for thread in threading.enumerate()
        if isinstance(thread, threading.Timer)
        and _SCHEDULER_TIMER in getattr(thread.function, "__qualname__", "")
    ]
    for timer in timers:
        timer.cancel()
    return len(timers)
