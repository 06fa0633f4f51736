"""The unchanged workflow on a real single-node SLURM cluster (munge, slurmctld, slurmd, slurmdbd
with MariaDB, started by scripts/slurm-up.sh): every job is an sbatch job that sacct accounts for."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from engine_harness import REPO, final_outputs, run_snakemake, sacct_jobs

from seqpipe.execution.command import snakemake_argv

pytestmark = [pytest.mark.e2e, pytest.mark.slurm]


def _planned_rules(log: str) -> set[str]:
    table = log.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m.group(1) for m in re.finditer(r"^(\w+)\s+\d+$", table, re.MULTILINE)}


def test_pipeline_runs_every_job_through_slurm(slurm_cluster: None, run_dir: Path) -> None:
    env = dict(os.environ, SEQPIPE_MAX_THREADS="2")  # the test node has 2 CPUs
    argv = snakemake_argv(
        "slurm",
        profiles=REPO / "profiles",
        configfile="run.yaml",
        # a short first status check; the default (40 s) suits a busy production cluster
        extra=["--slurm-init-seconds-before-status-checks", "1"],
    )

    run = run_snakemake(argv, cwd=run_dir, timeout=900, env=env)

    missing = [f for f in final_outputs() if not (run_dir / f).is_file()]
    assert not missing, missing
    run_id = re.search(r"SLURM run ID: (\S+)", run.log).group(1)
    jobs = sacct_jobs(run_id)
    assert jobs and all(j["state"] == "COMPLETED" for j in jobs), jobs
    assert all(j["account"] == "testacct" for j in jobs)
    # only the target rule runs in the submitting process; every other planned rule is in the
    # sbatch comment of an accounted job (group jobs list all their rules)
    assert re.findall(r"^localrule (\w+):", run.log, re.MULTILINE) == ["all"]
    comments = " ".join(j["comment"] for j in jobs)
    not_in_slurm = {r for r in _planned_rules(run.log) - {"all"} if r not in comments}
    assert not not_in_slurm, f"rules without a SLURM job: {not_in_slurm}"
    submitted = len(re.findall(r"has been submitted with SLURM jobid", run.log))
    assert submitted == len(jobs), (submitted, len(jobs))
