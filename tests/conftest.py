"""Fixtures shared by every test area: paths, the shared test data, the local AWS endpoint."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "support"))
from moto_server import fresh_environment, moto_server  # noqa: E402

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


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real AWS-API server (moto, server mode) on loopback for the whole session."""
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with moto_server(MOTO_LAUNCHER, log, dict(os.environ, MOTO_BATCH_LOCAL_EXEC="1")) as url:
        yield url


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Callable:
    """Fresh emulator state per test; the environment points every boto3 client (and subprocess) at it."""
    import boto3

    for key, value in fresh_environment(moto_endpoint, "us-east-1").items():
        monkeypatch.setenv(key, value)
    return lambda service: boto3.client(service)


@pytest.fixture(scope="session")
def aws_proxy_endpoint(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The counting, fault-injecting proxy (tests/support/aws_proxy.py) in front of the endpoint."""
    from aws_proxy import running_proxy

    log = tmp_path_factory.mktemp("aws-proxy") / "proxy.log"
    with running_proxy(moto_endpoint, log) as client:
        yield client


@pytest.fixture
def aws_via_proxy(aws: Callable, aws_proxy_endpoint, monkeypatch: pytest.MonkeyPatch):
    """Like `aws`, but every client (and subprocess) talks to the endpoint through the proxy, whose
    log and fault rules start empty."""
    aws_proxy_endpoint.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_proxy_endpoint.url)
    return aws_proxy_endpoint
