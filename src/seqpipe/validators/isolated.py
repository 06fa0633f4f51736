"""Run a function in a forked child with a memory ceiling, so that whatever the input does to it (a
segfault or abort in htslib, memory claimed by a length field) ends the child, never the caller.

Fork rather than a fresh interpreter: the child starts with pysam already loaded (a few ms, not the
second a new Python with pysam needs), which matters to the fuzzer's hundreds of thousands of runs.
The child's address space may grow MEMORY_BUDGET beyond the parent's, so its resident memory stays
under the parent's plus that: about 420 MB for a 100 MB parent (the Lambda has 1024 MB; the fuzzer
checks 500 MB).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import traceback
from collections.abc import Callable
from typing import Any

MEMORY_BUDGET = 320 * 1024 * 1024


class IsolatedFailure(Exception):
    """The child did not return a value: killed by a signal, out of memory, or an exception."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


def _address_space() -> int | None:
    try:
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration):
        return None
    return int(line.split()[1]) * 1024


def _child(function: Callable[..., Any], args: tuple[Any, ...], write_fd: int, budget: int) -> None:
    """Runs in the child: never returns (os._exit), so no caller's cleanup runs twice."""
    try:
        current = _address_space()
        if current is not None:
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            ceiling = current + budget if hard == resource.RLIM_INFINITY else min(current + budget, hard)
            resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
        payload: dict[str, Any] = {"value": function(*args)}
    except MemoryError:
        payload = {"failure": f"needed more than its {budget // 2**20} MiB memory budget"}
    except BaseException as exc:  # reported to the parent, which decides what it means
        payload = {"failure": f"{type(exc).__name__}: {exc}", "details": traceback.format_exc()}
    try:
        with os.fdopen(write_fd, "wb") as out:
            out.write(json.dumps(payload).encode())
    finally:
        os._exit(0)


def run_isolated(function: Callable[..., Any], *args: Any, budget: int = MEMORY_BUDGET) -> Any:
    """function(*args) in a forked child; its return value must be JSON-serializable.
    IsolatedFailure when the child dies by a signal, runs out of its budget or raises."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(function, args, write_fd, budget)
    os.close(write_fd)
    chunks: list[bytes] = []
    try:
        with os.fdopen(read_fd, "rb") as incoming:
            while chunk := incoming.read1(1 << 16):
                chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
    except BaseException:
        # interrupted (a timeout of the caller): the child must not outlive the call
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        raise IsolatedFailure(f"crashed with {name}")
    try:
        payload = json.loads(b"".join(chunks))
    except ValueError:
        raise IsolatedFailure(
            f"ended (status {os.waitstatus_to_exitcode(status)}) without a result"
        ) from None
    if "failure" in payload:
        raise IsolatedFailure(payload["failure"], payload.get("details", ""))
    return payload["value"]
