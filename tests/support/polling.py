"""Waiting for what the local AWS endpoint does asynchronously (Batch job states, the run cleanup
after an execution ends): poll, and name what never came."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(check: Callable[[], Any], timeout: float = 180, what: str = "condition") -> Any:
    """check()'s first true value, polled every half second."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"{what}: not reached after {timeout} s"
        time.sleep(0.5)
    return value
