#!/usr/bin/env bash
# Run the whole test suite on this machine: sets up what is missing, starts the local
# SLURM cluster when root (the AWS endpoint is started by pytest), runs pipeline and infra tests.
# Extra arguments go to the pipeline pytest run (e.g. -k accuracy, -m "not e2e").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

if [[ $EUID -eq 0 && ${SEQPIPE_SLURM:-1} == 1 ]]; then
    bash scripts/slurm-up.sh >/tmp/seqpipe-slurm-up.log 2>&1 || { cat /tmp/seqpipe-slurm-up.log; exit 1; }
    trap 'bash scripts/slurm-down.sh --purge >/dev/null 2>&1 || true' EXIT
    export SEQPIPE_SLURM_UP=1
fi

status=0
.venv/bin/python -m pytest tests "$@" || status=$?
if [[ -d infra/tests ]]; then
    (cd infra && ../.venv-infra/bin/python -m pytest tests) || status=$?
fi
exit $status
