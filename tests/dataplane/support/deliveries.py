"""Invocations of a Lambda handler as separate processes, as Lambda runs concurrent invocations:
each its own process (forked from a server process that imported the handler once, so a hundred of
them start in seconds), with its own SDK clients, request id and deadline, killable with SIGKILL."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import time
import traceback
from dataclasses import dataclass
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from .lambda_context import LambdaContext

BARRIER_SECONDS = 120


@dataclass(frozen=True)
class Delivery:
    request_id: str
    outcome: dict[str, Any] | None  # the handler's answer, or None when it raised
    error: str | None  # the exception's class name
    message: str


def _context(handler: str) -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__package__ + ".sdk_warmup", handler.rsplit(".", 1)[0]])
    return context


def _invoke(
    handler: str,
    event: dict[str, Any],
    env: dict[str, str],
    context: LambdaContext,
    start_together: Barrier | None,
    results: Queue,
) -> None:
    os.environ.update(env)
    module, name = handler.rsplit(".", 1)
    function = getattr(importlib.import_module(module), name)
    if start_together is not None:
        start_together.wait(timeout=BARRIER_SECONDS)
    context.started = time.time()
    try:
        outcome = function(event, context)
    except Exception as error:
        detail = "".join(traceback.format_exception_only(error)).strip()
        results.put(Delivery(context.aws_request_id, None, type(error).__name__, detail))
        return
    results.put(Delivery(context.aws_request_id, outcome, None, ""))


def start(
    handler: str, event: dict[str, Any], env: dict[str, str], context: LambdaContext
) -> tuple[BaseProcess, Queue]:
    """One invocation in its own process, and the queue its Delivery goes to unless it is killed (keep
    the queue as long as the process runs: its locks go when it is collected)."""
    forkserver = _context(handler)
    results = forkserver.Queue()
    process = forkserver.Process(target=_invoke, args=(handler, event, env, context, None, results))
    process.start()
    return process, results


def deliver_concurrently(
    handler: str, event: dict[str, Any], env: dict[str, str], count: int, timeout: float = 300
) -> list[Delivery]:
    """`count` invocations with the same event, let go together once every process is up (a barrier
    of `count`: a process that does not get there in time raises BrokenBarrierError)."""
    context = _context(handler)
    results = context.Queue()
    start_together = context.Barrier(count)
    processes = [
        context.Process(
            target=_invoke,
            args=(handler, event, env, LambdaContext(f"delivery-{n}"), start_together, results),
        )
        for n in range(count)
    ]
    for process in processes:
        process.start()
    deliveries = [results.get(timeout=timeout) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    return deliveries


def kill_at_held_write(
    proxy: Any, rule: Any, handler: str, event: dict[str, Any], context: LambdaContext
) -> int:
    """Run one invocation with the proxy holding the request `rule` (a FaultRule with `hold`) matches,
    SIGKILL it once the hold starts (as Lambda stops an invocation at its time limit), lift the
    faults; returns the invocation's exit code. The kill so falls exactly before that write."""
    proxy.inject(rule)
    process, _results = start(handler, event, dict(os.environ), context)
    deadline = time.monotonic() + 120
    while not any(r.fault == "hold" for r in proxy.requests()):
        assert time.monotonic() < deadline, "no request held after 120 s"
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGKILL)
    process.join(30)
    proxy.inject()
    return process.exitcode
