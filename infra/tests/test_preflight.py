"""The account prerequisites check (infra/scripts/preflight.py) against the local AWS endpoint: it fails
while GuardDuty, Security Hub or AWS Config is missing, names each, and passes what is in place."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
from seqpipe_infra.config import load_config

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "preflight.py"
CONFIG = load_config("dev")


def preflight() -> tuple[int, dict, str]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--env", CONFIG.environment, "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_MAX_ATTEMPTS": "1"},
        timeout=120,
    )
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    return done.returncode, checks, done.stderr


def client(service: str):
    return boto3.client(service, region_name=CONFIG.region)  # the environment's region, as the script


def test_an_account_without_the_prerequisites_fails_naming_each(aws):
    code, checks, stderr = preflight()
    assert code == 1
    assert not any(c["ok"] for c in checks.values())
    assert "no detector in this region" in checks["GuardDuty with S3 protection"]["detail"]
    assert "not subscribed" in checks["Security Hub"]["detail"]
    assert "no configuration recorder is recording" in checks["AWS Config recording"]["detail"]
    assert stderr.strip().startswith(f"dev ({CONFIG.region}): missing account prerequisites: GuardDuty")


def test_guardduty_without_s3_protection_is_missing(aws):
    client("guardduty").create_detector(Enable=True, DataSources={"S3Logs": {"Enable": False}})
    _, checks, _ = preflight()
    assert not checks["GuardDuty with S3 protection"]["ok"]
    assert "S3 protection off" in checks["GuardDuty with S3 protection"]["detail"]


def test_what_is_in_place_passes_and_an_unanswerable_check_counts_as_missing(aws):
    detector = client("guardduty").create_detector(Enable=True, DataSources={"S3Logs": {"Enable": True}})
    client("securityhub").enable_security_hub()
    config = client("config")
    config.put_configuration_recorder(
        ConfigurationRecorder={"name": "default", "roleARN": "arn:aws:iam::123456789012:role/config"}
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-bucket"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")

    code, checks, stderr = preflight()

    assert checks["GuardDuty with S3 protection"] == {
        "name": "GuardDuty with S3 protection",
        "ok": True,
        "detail": f"detector {detector['DetectorId']}: enabled, S3 protection on",
    }
    assert checks["Security Hub"]["ok"] and checks["Security Hub"]["detail"].endswith(":hub/default")
    assert checks["AWS Config recording"] == {
        "name": "AWS Config recording",
        "ok": True,
        "detail": "recorder default recording",
    }
    # the endpoint does not implement DescribeConformancePacks: no answer is no pack
    pack = checks["AWS Config HIPAA conformance pack"]
    assert not pack["ok"] and pack["detail"].startswith("could not be checked")
    assert code == 1 and stderr.strip().endswith(
        "missing account prerequisites: AWS Config HIPAA conformance pack"
    )
