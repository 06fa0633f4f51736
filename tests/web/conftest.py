"""Dashboard fixtures: the data plane's tables in the local AWS endpoint, demo content, a signed token."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from seqpipe.aws.demo import DemoSize, write_demo
from seqpipe.aws.settings import Settings
from seqpipe.aws.tables import create_tables
from seqpipe.web.auth import issue_token

SECRET = "test-secret-not-used-anywhere-else"


@pytest.fixture
def settings(aws: Callable) -> Settings:
    """Empty tables (created from the data plane's specs) in a freshly reset endpoint."""
    settings = Settings.from_env()
    create_tables(aws("dynamodb"), settings.table_names())
    return settings


@pytest.fixture
def demo(settings: Settings) -> DemoSize:
    """Five runs of four samples out of eight (each sample in two or three runs): settled runs, a
    failed one (RUN_0004) and a running one (RUN_0005)."""
    size = DemoSize(runs=5, samples_per_run=4, tasks_per_sample=4, distinct_samples=8)
    write_demo(size, settings)
    return size


@pytest.fixture
def secret() -> str:
    return SECRET


@pytest.fixture
def token() -> str:
    return issue_token(SECRET, "tester", ttl_seconds=3600)


@pytest.fixture
def client(demo: DemoSize, token: str):
    from fastapi.testclient import TestClient

    from seqpipe.web.app import create_app

    with TestClient(create_app(secret=SECRET), headers={"Authorization": f"Bearer {token}"}) as test_client:
        yield test_client
