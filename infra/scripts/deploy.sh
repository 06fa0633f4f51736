#!/usr/bin/env bash
# Deploy one environment with the same steps as .github/workflows/deploy.yml, for people without
# GitHub Actions:  account prerequisites → tests → synth → diff → (confirm) → deploy → rollback triggers → smoke check.
#
#   infra/scripts/deploy.sh dev|staging|prod [--diff-only] [--skip-tests] [--yes]
#
# Needs: AWS credentials for the environment's account (config/<env>.yaml), node (npx), the infra
# venv (.venv-infra, created by scripts/setup.sh), and the account bootstrapped once with
#   npx aws-cdk@$CDK_CLI_VERSION bootstrap aws://<account>/<region>
set -euo pipefail

CDK_CLI_VERSION=${CDK_CLI_VERSION:-2.1148.1}
usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

env_name=${1:-}; shift || true
[[ $env_name =~ ^(dev|staging|prod)$ ]] || usage
diff_only=0 skip_tests=0 assume_yes=0
for arg in "$@"; do
    case $arg in
        --diff-only) diff_only=1 ;;
        --skip-tests) skip_tests=1 ;;
        --yes) assume_yes=1 ;;
        *) usage ;;
    esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
python=../.venv-infra/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
cdk() { npx --yes "aws-cdk@$CDK_CLI_VERSION" "$@"; }
log() { printf '[deploy %s] %s\n' "$env_name" "$*" >&2; }

[[ -x $python ]] || { log "missing $python: run scripts/setup.sh first"; exit 1; }
read -r account region < <("$python" -c "
from seqpipe_infra.config import load_config
c = load_config('$env_name'); print(c.account, c.region)")
caller=$(aws sts get-caller-identity --query Account --output text) || { log "no AWS credentials"; exit 1; }
[[ $caller == "$account" ]] || { log "credentials are for account $caller, $env_name is $account"; exit 1; }
export AWS_REGION=$region AWS_DEFAULT_REGION=$region

log "account prerequisites (GuardDuty, Security Hub, AWS Config with the HIPAA pack)"
"$python" scripts/preflight.py --env "$env_name" || { log "missing account prerequisites: see above"; exit 1; }

if (( ! skip_tests )); then
    log "tests"
    "$python" -m pytest tests -q
fi

out="cdk.out/$env_name"
log "synth → $out"
cdk synth --app "$python app.py" -c env="$env_name" --output "$out" --quiet

log "diff (saved to $out/diff.txt)"
cdk diff --app "$out" --all 2>&1 | tee "$out/diff.txt"
(( diff_only )) && exit 0

if [[ $env_name != dev && $assume_yes != 1 ]]; then
    read -r -p "Deploy the diff above to $env_name ($account)? Type the environment name: " answer
    [[ $answer == "$env_name" ]] || { log "not confirmed"; exit 1; }
fi

log "deploy"
cdk deploy --app "$out" --all --require-approval never --concurrency 1 \
    --outputs-file "$out/outputs.json"

# CloudFormation keeps a stack's rollback configuration for later updates (CDK's change sets do not
# set one), so the alarms of the monitoring stack guard every following deployment.
log "rollback triggers"
"$python" - "$env_name" "$out/outputs.json" <<'PY'
import json, subprocess, sys
env, outputs = sys.argv[1], json.load(open(sys.argv[2]))
prefix = f"seqpipe-{env}"
alarms = [a for a in outputs[f"{prefix}-monitoring"]["RollbackAlarmArns"].split(",") if a]
config = json.dumps({"RollbackTriggers": [{"Arn": a, "Type": "AWS::CloudWatch::Alarm"} for a in alarms],
                     "MonitoringTimeInMinutes": 15})
for stack in sorted(outputs):
    if stack == f"{prefix}-monitoring":
        continue  # the alarms' own stack cannot be rolled back by them
    result = subprocess.run(["aws", "cloudformation", "update-stack", "--stack-name", stack,
                             "--use-previous-template", "--capabilities", "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM",
                             "--rollback-configuration", config], capture_output=True, text=True)
    if result.returncode == 0:
        subprocess.run(["aws", "cloudformation", "wait", "stack-update-complete", "--stack-name", stack], check=True)
    elif "No updates are to be performed" in result.stderr:
        print(f"{stack}: rollback triggers unchanged")
    else:
        sys.exit(f"{stack}: could not set rollback triggers: {result.stderr.strip()}")
PY

log "smoke check"
sm=$("$python" -c "import json; print(json.load(open('$out/outputs.json'))['seqpipe-$env_name-orchestration']['StateMachineArn'])")
aws stepfunctions describe-state-machine --state-machine-arn "$sm" --query status --output text
log "done"
