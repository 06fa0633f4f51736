"""The IAM audit from the synthesized templates: who can read, write or erase each bucket and table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from seqpipe_infra.iam_audit import Audit, Statement, audit_templates
from seqpipe_infra.names import bucket_name
from seqpipe_infra.replica_stack import replica_bucket_name

from seqpipe.handlers.registry import HANDLERS

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
    if config.durability.raw_replica_region:  # raw's replica holds the same data
        data.append(replica_bucket_name(config))
    for name, entries in access.items():
        erasers = sorted(p for p, entry in entries.items() if "erase" in entry)
        assert len(erasers) == (name in data) and all("/ErasureRole" in e for e in erasers), (name, erasers)
    for purpose in ("raw", "processed", "delivery"):
        entries = access[bucket_name(config, purpose)]
        # S3 replication's own role reads raw where the environment replicates it (test_durability.py)
        replication = [p for p in entries if "/RawReplicationRole" in p]
        assert len(replication) == (purpose == "raw" and config.durability.raw_replica_region is not None)
        roles = [p for p in entries if p.startswith(config.prefix) and p not in replication]
        # Batch ×2, one per Lambda, erasure, dashboard
        assert len(roles) == 3 + len(HANDLERS) + config.dashboard.enabled
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


@pytest.fixture(scope="module", params=["dev", "prod"])
def environment_audit(request, synthesis):
    config = synthesis.configs[request.param]
    return config, audit_templates(synthesis.outdir, config.prefix, config.account, config.region)


def test_only_the_erasure_role_writes_the_audit_table_and_nobody_deletes_from_it(environment_audit):
    """Policy evaluation over every role of the environment (identity policies and the table's own
    policy): the workload roles, which write the data-plane tables, cannot touch the audit trail."""
    config, audit = environment_audit
    table = f"arn:aws:dynamodb:{config.region}:{config.account}:table/{config.prefix}-erasure-audit"
    roles = sorted({s.principal for s in audit.statements if s.principal.startswith(f"{config.prefix}-")})
    assert len(roles) >= 7 and sum("/ErasureRole" in r for r in roles) == 1
    for role in roles:
        erasure = "/ErasureRole" in role
        for action in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"):
            assert audit.allows(role, action, table) == erasure, (role, action)
        for action in ("dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:PartiQLUpdate"):
            assert not audit.allows(role, action, table), (role, action)
    # the table's policy holds even against a grant added later: an admin role with dynamodb:*
    admin = Statement("someone-with-dynamodb-star", "Allow", ("dynamodb:*",), ("*",))
    widened = Audit(audit.resources, [*audit.statements, admin])
    assert widened.allows(admin.principal, "dynamodb:GetItem", table)
    assert not widened.allows(admin.principal, "dynamodb:PutItem", table)
    assert not widened.allows(admin.principal, "dynamodb:DeleteItem", table)
    # while the erasure role may write the data-plane tables it erases from, and no workload may
    # reach the audit table at all
    access = audit.access()[f"{config.prefix}-erasure-audit"]
    reaching = {p for p, entry in access.items() if set(entry) - {"denied"}}
    assert len(reaching) == 1 and "/ErasureRole" in reaching.pop()


def test_the_audit_table_is_encrypted_recoverable_and_guarded_by_its_own_policy(synthesis):
    config = synthesis.configs["prod"]
    resources = synthesis.template(f"{config.prefix}-data")["Resources"]
    (table,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::DynamoDB::Table"
        and r["Properties"]["TableName"] == f"{config.prefix}-erasure-audit"
    ]
    assert table["SSESpecification"]["SSEEnabled"] and table["SSESpecification"]["KMSMasterKeyId"]
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
    assert table["DeletionProtectionEnabled"] is True
    statements = {s["Sid"]: s for s in table["ResourcePolicy"]["PolicyDocument"]["Statement"]}
    never = statements["AuditRecordsAreNeverDeleted"]
    assert never["Effect"] == "Deny" and never["Principal"] == {"AWS": "*"} and "Condition" not in never
    assert {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} <= set(never["Action"])
    writes = statements["OnlyTheErasureRoleWritesAuditRecords"]
    assert writes["Effect"] == "Deny" and {"dynamodb:PutItem", "dynamodb:UpdateItem"} <= set(writes["Action"])
    (role,) = writes["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]["Fn::GetAtt"][:1]
    assert resources[role]["Properties"]["RoleName"] == f"{config.prefix}-erasure"
