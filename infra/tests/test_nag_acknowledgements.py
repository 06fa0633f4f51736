"""Every cdk-nag acknowledgement is used: each one suppresses a finding of its pack at the construct it
was made on, in the validation report CDK writes (suppressedViolations). An acknowledgement that no
finding uses would hide the next real finding of its rule there, with a reason written for another."""

from __future__ import annotations

import json
from collections import defaultdict

from seqpipe_infra.compliance import PACKS

ACKNOWLEDGED = "aws:cdk:acknowledged-rules"


def acknowledgements(synthesis) -> dict[tuple[str, str], str]:
    """(construct path, acknowledged id) → reason, of our packs, from the stacks' metadata files."""
    found = {}
    for path in synthesis.outdir.glob("*.metadata.json"):
        for construct, entries in json.loads(path.read_text()).items():
            for entry in entries:
                if entry["type"] != ACKNOWLEDGED:
                    continue
                for rule_id, reason in entry["data"].items():
                    if rule_id.partition("::")[0] in PACKS:
                        found[(construct.lstrip("/"), rule_id)] = reason
    return found


def suppressions(synthesis) -> dict[tuple[str, str], list[str]]:
    """(construct path of the acknowledgement, acknowledged id) → the constructs whose findings it
    suppressed."""
    used = defaultdict(list)
    for report in synthesis.validation_report()["pluginReports"]:
        if report["pluginName"] not in PACKS:
            continue  # CDK's own template checks acknowledge findings of CDK's constructs
        for finding in report.get("suppressedViolations") or []:
            key = (finding["acknowledgedAt"], finding["acknowledgedId"])
            used[key] += [c["constructPath"] for c in finding["violatingConstructs"]]
    return used


def test_every_acknowledgement_suppresses_a_finding_where_it_was_made(synthesis):
    made = acknowledgements(synthesis)
    used = suppressions(synthesis)
    assert len(made) > 50, "the acknowledgements of every environment are read"
    assert sorted(key for key in made if key not in used) == []


def test_no_acknowledgement_is_made_on_a_construct_without_findings_of_its_rule(synthesis):
    """The reverse view: what the report says was acknowledged was acknowledged in code."""
    made = acknowledgements(synthesis)
    assert set(suppressions(synthesis)) <= set(made)


def test_what_the_reasons_of_the_orchestration_roles_say_is_what_their_policies_grant(synthesis):
    """TerminateJob is granted on job ARNs only (it supports them); no function role has an AWS-managed
    policy, whose logs actions reach every log group; a function writes only its own log group."""
    for config in synthesis.configs.values():
        template = synthesis.template(f"{config.prefix}-orchestration")
        roles = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
        assert roles and all("ManagedPolicyArns" not in role for role in roles)
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::IAM::Policy":
                continue
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                if "batch:TerminateJob" in actions:
                    assert actions == ["batch:TerminateJob"]
                    assert json.dumps(statement["Resource"]).endswith(f':{config.account}:job/*"]]}}')
                if {"logs:CreateLogStream", "logs:PutLogEvents"} & set(actions):
                    assert statement["Resource"] != "*", statement
        reasons = " ".join(
            reason for (construct, _), reason in acknowledgements(synthesis).items()
            if construct.startswith(f"{config.prefix}-orchestration/")
        )  # fmt: skip
        assert "TerminateJob support" not in reasons and "its own log streams" not in reasons
