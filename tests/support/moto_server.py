"""The local AWS endpoint for a test session: a moto server on loopback, started through a launcher.

Shared by the pipeline's tests (tests/conftest.py) and the infra tests (infra/tests/conftest.py),
which run in different virtual environments and so cannot share a conftest.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def moto_server(launcher: Path, log: Path, env: dict[str, str]) -> Iterator[str]:
    """Start `launcher PORT` with this Python, wait until it answers, yield its URL, stop it."""
    port = free_port()
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [sys.executable, str(launcher), str(port)], stdout=fh, stderr=subprocess.STDOUT, env=env
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited early; see {log}:\n{log.read_text()[-3000:]}")
        try:
            requests.get(url + "/moto-api/", timeout=5)
            break
        except requests.RequestException:  # not listening yet, or slow to answer on a loaded machine
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"moto server did not start within 60 s; see {log}") from None
            time.sleep(0.1)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def fresh_environment(endpoint: str, region: str) -> dict[str, str]:
    """Reset the emulator and return the variables that point boto3 (and subprocesses) at it."""
    requests.post(endpoint + "/moto-api/reset", timeout=10)
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": region, **CREDENTIALS}
