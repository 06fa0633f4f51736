"""CI/CD: the GitHub workflows' structure (no runner here) and the deploy script (shellcheck)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
DEPLOY_SCRIPT = REPO / "infra" / "scripts" / "deploy.sh"


def workflow(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True)  # YAML 1.1 reads the key `on` as a boolean
    return data


def test_tests_run_on_every_pull_request_and_before_every_deployment():
    assert "pull_request" in workflow("tests.yml")["on"]
    deploy = workflow("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    assert deploy["jobs"]["tests"]["uses"] == "./.github/workflows/tests.yml"


def test_each_environment_is_diffed_then_deployed_in_order_dev_staging_prod():
    jobs = workflow("deploy.yml")["jobs"]
    order = ["tests", "diff-dev", "deploy-dev", "diff-staging", "deploy-staging", "diff-prod", "deploy-prod"]
    for before, after in itertools.pairwise(order):
        assert jobs[after]["needs"] == before
    for name in order[1:]:
        step, environment = name.split("-")
        assert jobs[name]["with"] == {"environment": environment, "step": step}


def test_only_the_deploy_step_runs_in_the_protected_environment_and_the_diff_is_attached():
    job = workflow("env-step.yml")["jobs"]["run"]
    assert job["environment"].startswith("${{ inputs.step == 'deploy' && inputs.environment")
    steps = {step.get("name") or step.get("uses"): step for step in job["steps"]}
    assert "--diff-only" in steps["cdk diff"]["run"] and "GITHUB_STEP_SUMMARY" in steps["cdk diff"]["run"]
    assert "infra/scripts/deploy.sh" in steps["deploy"]["run"]
    assert workflow("env-step.yml")["permissions"]["id-token"] == "write"  # OIDC, no stored keys


def test_a_manual_rollback_redeploys_a_known_good_ref():
    rollback = workflow("rollback.yml")
    assert set(rollback["on"]["workflow_dispatch"]["inputs"]) == {"environment", "ref"}
    (job,) = rollback["jobs"].values()
    assert job["steps"][0]["with"]["ref"] == "${{ inputs.ref }}"


def test_deploy_script_passes_shellcheck_and_refuses_unknown_environments():
    shellcheck = Path(sys.executable).with_name("shellcheck")
    result = subprocess.run([str(shellcheck), str(DEPLOY_SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    usage = subprocess.run(["bash", str(DEPLOY_SCRIPT), "qa"], capture_output=True, text=True)
    assert usage.returncode == 2 and "dev|staging|prod" in usage.stdout
