#!/usr/bin/env bash
# Synthesis time of the whole app (dev, staging, prod; cdk-nag packs; Lambda layer bundled), cold
# and warm, without the CDK CLI:
#   cold = empty jsii package cache (JSII_RUNTIME_PACKAGE_CACHE_ROOT) and a fresh output directory
#   warm = the same again with the cache filled (pip's wheel cache is warm in both)
# Usage: infra/scripts/synth_timing.sh   (prints two lines: "cold <s>" and "warm <s>")
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export JSII_RUNTIME_PACKAGE_CACHE_ROOT=$work/jsii-cache
for run in cold warm; do
    start=$(date +%s.%N)
    CDK_OUTDIR=$work/cdk.out.$run ../.venv-infra/bin/python app.py >/dev/null
    end=$(date +%s.%N)
    printf '%s %.1f\n' "$run" "$(echo "$end - $start" | bc)"
done
