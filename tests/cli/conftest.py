"""CLI fixtures: the real `seqpipe` entry point as a subprocess, the data plane's tables in the local
AWS endpoint, demo content."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from seqpipe.aws.demo import DemoSize, write_demo
from seqpipe.aws.settings import Settings
from seqpipe.aws.tables import create_tables

SEQPIPE = Path(sys.executable).parent / "seqpipe"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def seqpipe() -> Callable[..., Result]:
    """Run `seqpipe ARGS...` with the current environment (the `aws` fixture points it at moto)."""

    def run(*args: str, input: str | None = None, cwd: Path | None = None) -> Result:
        done = subprocess.run(
            [str(SEQPIPE), *args], input=input, capture_output=True, text=True, env=dict(os.environ), cwd=cwd,
            timeout=300,
        )  # fmt: skip
        return Result(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def settings(aws: Callable) -> Settings:
    settings = Settings.from_env()
    create_tables(aws("dynamodb"), settings.table_names())
    for bucket in (settings.raw_bucket, settings.processed_bucket, settings.delivery_bucket):
        aws("s3").create_bucket(Bucket=bucket)
    return settings


@pytest.fixture
def demo(settings: Settings) -> DemoSize:
    size = DemoSize(runs=5, samples_per_run=4, tasks_per_sample=3, distinct_samples=8)
    write_demo(size, settings)
    return size
