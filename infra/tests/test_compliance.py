"""cdk-nag AwsSolutions and HIPAA.Security on every environment, and cfn-lint on every template."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKS = {"AwsSolutions", "HIPAA.Security"}


def test_rule_packs_report_no_unacknowledged_findings(synthesis):
    reports = {r["pluginName"]: r for r in synthesis.validation_report()["pluginReports"]}
    assert set(reports) >= PACKS, f"rule packs did not run: {sorted(reports)}"
    findings = {
        name: [
            (v["ruleName"], [c["constructPath"] for c in v.get("violatingConstructs", [])])
            for v in reports[name].get("violations", [])
        ]
        for name in PACKS
    }
    assert findings == {name: [] for name in PACKS}
    assert synthesis.error is None


def test_every_acknowledgement_names_its_rule_and_a_reason(synthesis):
    acknowledged = []
    for environment in synthesis.configs:
        for template in synthesis.templates(environment).values():
            for resource in template["Resources"].values():
                for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                    acknowledged.append(rule)
    ours = [rule for rule in acknowledged if rule["id"].partition("::")[0] in PACKS]
    assert ours, "acknowledgements are written into the templates' Metadata"
    for rule in ours:
        pack, _, rule_id = rule["id"].partition("::")
        assert rule_id.startswith(pack + "-"), rule
        assert len(rule["reason"].split()) >= 8, f"{rule['id']}: the reason must say why ({rule['reason']!r})"
    # the rest are CDK's own (its CloudFormation validator), which carry reasons too
    assert all(rule["reason"].strip() for rule in acknowledged)


def test_cfn_lint_finds_no_errors_in_any_template(synthesis):
    templates = sorted(str(p) for p in Path(synthesis.outdir).glob("*.template.json"))
    # 6 stacks per environment, and the dashboard's and the raw replica's where enabled
    assert len(templates) == sum(
        6 + c.dashboard.enabled + (c.durability.raw_replica_region is not None)
        for c in synthesis.configs.values()
    )
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--non-zero-exit-code", "error", "--format", "parseable", "--", *templates],
        capture_output=True,
        text=True,
    )
    errors = [line for line in result.stdout.splitlines() if ":E" in line]
    assert result.returncode == 0 and not errors, result.stdout[-5000:] + result.stderr[-2000:]
