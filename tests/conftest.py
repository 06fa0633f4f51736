"""Fixtures shared by every test area: paths, the shared test data, the local AWS endpoint."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_TESTDATA = REPO.parent / "shared" / "testdata"
MOTO_LAUNCHER = REPO / "tests" / "support" / "moto_launch.py"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    """Real public files beside the checkout; not all of them may be copied into the repo (licences)."""
    if not SHARED_TESTDATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_TESTDATA} (it lives beside the checkout)")
    return SHARED_TESTDATA


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path) -> None:
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited early; see {log}:\n{log.read_text()[-3000:]}")
        try:
            requests.get(url + "/moto-api/", timeout=0.5)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"moto server did not start within 60 s; see {log}")


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real AWS-API server (moto, server mode) on loopback for the whole session."""
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    env = dict(os.environ, MOTO_BATCH_LOCAL_EXEC="1")
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [sys.executable, str(MOTO_LAUNCHER), str(port)], stdout=fh, stderr=subprocess.STDOUT, env=env
        )
    url = f"http://127.0.0.1:{port}"
    _wait_until_up(url, proc, log)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Callable:
    """Fresh emulator state per test; the environment points every boto3 client (and subprocess) at it."""
    import boto3
    import requests

    requests.post(moto_endpoint + "/moto-api/reset", timeout=10)
    for key, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    return lambda service: boto3.client(service)
