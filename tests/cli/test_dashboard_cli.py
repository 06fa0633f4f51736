"""`seqpipe dashboard`: tokens, demo content, and the server itself started through the entry point."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from polling import wait_until

from seqpipe.web.auth import issue_token, verify_token


def test_a_token_is_signed_with_the_configured_secret_and_expires(seqpipe, monkeypatch):
    monkeypatch.setenv("SEQPIPE_DASHBOARD_SECRET", "s3cret")
    result = seqpipe("dashboard", "token", "--subject", "ana", "--ttl", "30m", "--json")
    assert result.returncode == 0, result.stderr
    issued = result.json()
    identity = verify_token("s3cret", issued["token"])
    assert identity.subject == "ana" and 1700 < identity.expires_at - time.time() <= 1800


def test_a_token_needs_the_secret_and_a_valid_lifetime(seqpipe, monkeypatch):
    monkeypatch.delenv("SEQPIPE_DASHBOARD_SECRET", raising=False)
    assert seqpipe("dashboard", "token").returncode == 2
    monkeypatch.setenv("SEQPIPE_DASHBOARD_SECRET", "s3cret")
    result = seqpipe("dashboard", "token", "--ttl", "soon")
    assert result.returncode == 2 and "e.g. 8h" in result.stderr


def test_demo_data_fills_a_local_endpoint(seqpipe, aws):
    result = seqpipe("dashboard", "demo-data", "--runs", "3", "--samples-per-run", "2", "--json")
    assert result.returncode == 0, result.stderr
    assert result.json()["jobs"] == 3 * (1 + 2 * 4)
    assert [r["run_id"] for r in seqpipe("status", "--json").json()] == ["RUN_0003", "RUN_0002", "RUN_0001"]


def test_demo_data_refuses_a_real_aws_account(seqpipe, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    result = seqpipe("dashboard", "demo-data")
    assert result.returncode == 4 and "local endpoint" in result.stderr


def test_the_served_dashboard_answers_with_a_token_and_refuses_without(seqpipe, aws, monkeypatch):
    assert seqpipe("dashboard", "demo-data", "--runs", "2").returncode == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, SEQPIPE_DASHBOARD_SECRET="served-secret")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "seqpipe"), "dashboard", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                return requests.get(url + "/healthz", timeout=2).ok
            except requests.RequestException:  # not listening yet, or (a loaded machine) slow to answer
                return False

        wait_until(answers, timeout=60, what="the dashboard answering /healthz")
        token = issue_token("served-secret", "tester", 60)
        assert requests.get(url + "/api/runs", timeout=10).status_code == 401
        runs = requests.get(url + "/api/runs", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert runs.status_code == 200 and [r["run_id"] for r in runs.json()] == ["RUN_0002", "RUN_0001"]
        spec = requests.get(url + "/openapi.json", timeout=10).json()
        assert "/api/runs/{run_id}/samples" in spec["paths"]
    finally:
        server.terminate()
        server.wait(10)
