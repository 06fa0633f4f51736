"""The IAM audit from the synthesized templates: who can read, write or erase each bucket and table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from seqpipe_infra.iam_audit import audit_templates
from seqpipe_infra.names import bucket_name

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "iam_audit.py"


@pytest.fixture(scope="module", params=["dev", "prod"])
def audited(request, synthesis):
    config = synthesis.configs[request.param]
    return config, audit_templates(synthesis.outdir, config.prefix, config.account, config.region).access()


def principal(entries: dict, role: str) -> dict:
    (match,) = [entry for name, entry in entries.items() if f"/{role}" in name]
    return match


def test_workflow_roles_get_exactly_the_access_their_job_needs(audited):
    config, access = audited
    raw, processed, delivery = (access[bucket_name(config, p)] for p in ("raw", "processed", "delivery"))
    assert principal(processed, "HeadRole").keys() == {"read", "write", "denied"}
    assert principal(raw, "HeadRole").keys() == {"read", "denied"}
    assert principal(delivery, "HeadRole").keys() == {"denied"}
    assert principal(processed, "ValidationHandlerRole").keys() == {"denied"}
    assert principal(raw, "MetadataUpdaterRole").keys() == {"denied"}
    assert principal(delivery, "MetadataUpdaterRole").keys() == {"read", "write", "denied"}
    jobs = access[f"{config.prefix}-processing-jobs"]
    assert principal(jobs, "StateMachineRole") == {"write": ["dynamodb:UpdateItem"]}
    assert "QualityMetricsRole" not in json.dumps(sorted(jobs))


def test_only_the_erasure_role_can_erase_and_no_workflow_role_can_delete_a_bucket(audited):
    config, access = audited
    data = [bucket_name(config, p) for p in ("raw", "processed", "delivery")] + [
        f"{config.prefix}-{table}" for table in ("genomics-metadata", "processing-jobs", "quality-metrics")
    ]
    for name, entries in access.items():
        erasers = sorted(p for p, entry in entries.items() if "erase" in entry)
        assert len(erasers) == (name in data) and all("/ErasureRole" in e for e in erasers), (name, erasers)
    for purpose in ("raw", "processed", "delivery"):
        entries = access[bucket_name(config, purpose)]
        roles = [p for p in entries if p.startswith(config.prefix)]
        assert len(roles) == 7 + config.dashboard.enabled  # Batch ×2, Lambdas ×4, erasure, dashboard
        assert all(entries[p]["denied"] == ["s3:DeleteBucket"] for p in roles)


def test_audit_script_prints_json_and_fails_clearly_without_templates(synthesis, tmp_path):
    ok = subprocess.run(
        [sys.executable, str(SCRIPT), "--env", "dev", "--templates", str(synthesis.outdir), "--json"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "seqpipe-dev-processing-jobs" in json.loads(ok.stdout)
    missing = subprocess.run(
        [sys.executable, str(SCRIPT), "--env", "dev", "--templates", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2
    assert "no templates named seqpipe-dev-*.template.json" in missing.stderr
