#!/usr/bin/env bash
# Set up a fresh machine: Debian tools (when root with apt), the pipeline venv (.venv) with GATK from
# Maven Central (scripts/install-gatk.sh), and the infrastructure venv (.venv-infra; CDK pins
# typeguard 2, which MultiQC cannot share).
# Idempotent: a second call only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[setup] %s\n' "$*"; }

install_debian_packages() {
    local missing=() p
    while read -r p; do
        [[ -z $p || $p == \#* ]] && continue
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done < scripts/apt-packages.txt
    (( ${#missing[@]} )) || return 0
    if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
        log "missing Debian packages: ${missing[*]} (not root or no apt: install them, or use --sdm conda)"
        return 0
    fi
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q update >/dev/null
    apt-get -q -y -o DPkg::Lock::Timeout=600 install "${missing[@]}" >/dev/null
}

make_venv() {  # make_venv DIR PIP-ARGS...
    local dir=$1; shift
    if [[ ! -x $dir/bin/python ]]; then
        log "creating $dir"
        python3 -m venv "$dir"
        "$dir/bin/pip" install -q --upgrade pip
    fi
    "$dir/bin/pip" install -q "$@"
}

install_debian_packages
make_venv .venv -c requirements/constraints.txt -e ".[pipeline,lambda,web,dev]"
# GATK is not packaged for Debian: Maven Central's release, checked jar by jar (SEQPIPE_SKIP_GATK=1 skips it)
if [[ ${SEQPIPE_SKIP_GATK:-0} != 1 ]]; then
    bash scripts/install-gatk.sh || { log "GATK install failed (above); SEQPIPE_SKIP_GATK=1 sets up without it"; exit 1; }
fi
if [[ ${SEQPIPE_SKIP_INFRA:-0} != 1 ]]; then
    make_venv .venv-infra -r infra/requirements.txt -e .
fi
log "ready: source .venv/bin/activate"
