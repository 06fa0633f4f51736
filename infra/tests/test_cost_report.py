"""The cost report against the local endpoint. moto does not compute costs: Cost Explorer answers
empty unless a result is queued through moto's API, which is how the per-run arithmetic is fed a
response of the real shape; the no-data and error paths are the endpoint's own behaviour."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import requests
from seqpipe_infra.config import load_config
from seqpipe_infra.names import table_name

from seqpipe.aws.tables import JOBS, create_table_kwargs

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "cost_report.py"
PERIOD = ["--start", "2026-11-01", "--end", "2026-12-01"]


def run_script(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_MAX_ATTEMPTS": "1", **env},
        timeout=60,
    )


def queue_cost_result(endpoint: str, groups: dict[str, str]) -> None:
    result = {
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": "2026-11-01", "End": "2026-12-01"},
                "Total": {},
                "Groups": [
                    {"Keys": [f"run${tag}"], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}
                    for tag, amount in groups.items()
                ],
                "Estimated": False,
            }
        ]
    }
    response = requests.post(
        f"{endpoint}/moto-api/static/ce/cost-and-usage-results", json={"results": [result]}
    )
    response.raise_for_status()


def test_no_cost_data_is_reported_as_no_data_not_as_zero(aws):
    result = run_script("--env", "dev", *PERIOD)
    assert result.returncode == 0, result.stderr
    assert "No cost data for dev, 2026-11-01 to 2026-12-01" in result.stdout
    assert "cost-allocation tags" in result.stdout


def test_costs_are_split_per_run_and_divided_by_the_run_samples(aws, moto_endpoint):
    config = load_config("dev")
    dynamodb = boto3.client("dynamodb", region_name=config.region)
    dynamodb.create_table(**create_table_kwargs(JOBS, table_name(config, JOBS)))
    dynamodb.put_item(
        TableName=table_name(config, JOBS),
        Item={"job_id": {"S": "RUN1"}, "samples": {"L": [{"S": s} for s in ("S1", "S2", "S3", "S4")]}},
    )
    queue_cost_result(moto_endpoint, {"RUN1": "40.00", "RUN2": "5.50", "shared": "120.25", "": "3.00"})

    result = run_script("--env", "dev", *PERIOD, "--json")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["has_data"] and report["currency"] == "USD"
    assert report["runs"] == [
        {"run_id": "RUN1", "cost": 40.0, "samples": 4, "per_sample": 10.0},
        {"run_id": "RUN2", "cost": 5.5, "samples": None, "per_sample": None},
    ]
    assert report["shared"] == 120.25 and report["untagged"] == 3.0
    assert report["notes"] == ["run RUN2 has no job record; cost per sample unknown"]


def test_unreachable_cost_explorer_is_an_error_with_a_message(aws):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    result = run_script("--env", "dev", *PERIOD, AWS_ENDPOINT_URL=closed)
    assert result.returncode == 1
    assert result.stderr.startswith("cost_report: Cost Explorer could not be reached")
    assert "Traceback" not in result.stderr


def test_an_empty_period_is_refused_before_calling_aws(aws):
    result = run_script("--env", "dev", "--start", "2026-11-01", "--end", "2026-11-01")
    assert result.returncode == 2
    assert "--end (2026-11-01) must be after --start (2026-11-01)" in result.stderr
