"""The unchanged workflow on a real single-node SLURM cluster (munge, slurmctld, slurmd, slurmdbd
with MariaDB, started by scripts/slurm-up.sh): every job is an sbatch job that sacct accounts for,
sized to fit the node (2 CPUs here, fewer than the table's 16 threads), recorded as a step with its
SLURM job id by `seqpipe run --engine slurm --record`; and a job that can never start fails the run
with SLURM's reason instead of pending for ever."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from engine_harness import (
    REPO,
    VENV_BIN,
    final_outputs,
    job_stats,
    load_profile,
    run_snakemake,
    run_venv_command,
    sacct_jobs,
)
from yte.exceptions import YteError

from seqpipe.aws.items import STEP_KIND
from seqpipe.aws.repositories import Repositories
from seqpipe.aws.settings import Settings
from seqpipe.aws.tables import create_tables
from seqpipe.execution.command import snakemake_argv
from seqpipe.execution.slurm_pending import parse_tres

pytestmark = [pytest.mark.e2e, pytest.mark.slurm]
# a short first status check; the plugin's default (40 s) suits a busy production cluster
FAST_STATUS = ["--seqpipe-slurm-init-seconds-before-status-checks", "1"]
RETRIES_MAX = 3


def _node() -> tuple[int, int]:
    """CPUs and memory (MB) of the cluster's node, as the controller has it (not through sinfo)."""
    out = subprocess.run(
        ["scontrol", "--oneliner", "show", "node"], capture_output=True, text=True, check=True
    )
    (line,) = out.stdout.splitlines()
    fields = dict(re.findall(r"(\w+)=(\S+)", line))
    return int(fields["CPUTot"]), int(fields["RealMemory"])


def _env_without_cap() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "SEQPIPE_MAX_THREADS"}


@pytest.mark.aws
def test_pipeline_runs_every_job_through_slurm_within_one_node_and_records_each_step(
    slurm_cluster: None, run_dir: Path, aws: Callable
) -> None:
    """With no SEQPIPE_MAX_THREADS, the profile sizes jobs by the node it reads: the demo runs to the
    end, and no job or group job asked for more CPUs or memory than the node has. Run as
    `seqpipe run --engine slurm --record`, every job is a step item with the SLURM job that ran it."""
    create_tables(aws("dynamodb"), Settings.from_env().table_names())
    argv = [
        str(VENV_BIN / "seqpipe"), "run", "--engine", "slurm", "--configfile", "run.yaml",
        "--record", "SLURM_RUN", "--", *FAST_STATUS, "--logger-seqpipe-engine-poll-seconds", "2",
    ]  # fmt: skip

    run = run_venv_command(argv, cwd=run_dir, timeout=900, env=_env_without_cap())

    missing = [f for f in final_outputs() if not (run_dir / f).is_file()]
    assert not missing, missing
    run_id = re.search(r"SLURM run ID: (\S+)", run.log).group(1)
    jobs = sacct_jobs(run_id)
    assert jobs and all(j["state"] == "COMPLETED" for j in jobs), jobs
    assert all(j["account"] == "testacct" for j in jobs)
    cpus, mem = _node()
    too_big = [j for j in jobs if int(j["req_cpus"]) > cpus or parse_tres(f"mem={j['req_mem']}")["mem"] > mem]
    assert not too_big, too_big
    assert any(int(j["req_cpus"]) == cpus for j in jobs), "the threaded rules use the whole node"
    # only the target rule runs in the submitting process; every other planned rule ran in an
    # accounted SLURM job (sacct's comment lists a group job's rules, but the plugin cuts it short)
    assert re.findall(r"^localrule (\w+):", run.log, re.MULTILINE) == ["all"]
    planned = job_stats(run.log)
    submitted = len(re.findall(r"has been submitted with SLURM jobid", run.log))
    assert submitted == len(jobs), (submitted, len(jobs))

    # one step per planned job, each with the SLURM job that ran it (a group job's members share one)
    steps = [i for i in Repositories.from_env().jobs.of_run("SLURM_RUN") if i["kind"] == STEP_KIND]
    assert Counter(s["rule"] for s in steps) == planned
    on_slurm = [s for s in steps if s["rule"] != "all"]
    assert {s["engine_job_id"] for s in on_slurm} == {j["id"] for j in jobs}
    comments = {j["id"]: j["comment"] for j in jobs}
    for step in on_slurm:  # in its own job's comment, unless the plugin cut that short
        comment = comments[step["engine_job_id"]]
        assert step["rule"] in comment or comment.endswith("..."), (step["rule"], comment)
    for step in on_slurm:
        assert [h["status"] for h in step["history"]] == ["QUEUED", "RUNNING", "SUCCEEDED"], step
        assert step["engine"] == "slurm" and step["engine_state"] == "COMPLETED"
        # the SLURM log's path (the plugin deletes the logs of jobs that succeeded, keeps the others)
        assert step["engine_exit_status"] == 0
        assert step["engine_log"].endswith(f"/{step['engine_job_id']}.log")
        assert step["started_at"] <= step["finished_at"]  # sacct's start: whole seconds
    assert Repositories.from_env().jobs.get("SLURM_RUN")["status"] == "SUCCEEDED"


def test_profile_caps_threads_and_memory_at_the_largest_node(
    slurm_cluster: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    cpus, mem = _node()
    monkeypatch.delenv("SEQPIPE_MAX_THREADS", raising=False)
    profile = load_profile("slurm")
    assert profile["cores"] == cpus
    assert max(profile["set-threads"].values()) == cpus
    for rule, values in profile["set-resources"].items():
        for attempt in range(1, RETRIES_MAX + 1):
            assert eval(str(values["mem_mb"]), {"threads": cpus, "attempt": attempt}) <= mem, rule
    assert eval(profile["default-resources"]["mem_mb"], {"attempt": 100}) == mem

    monkeypatch.setenv("SEQPIPE_MAX_THREADS", "1")  # lower than the node: it wins
    assert load_profile("slurm")["cores"] == 1
    monkeypatch.setenv("SEQPIPE_MAX_THREADS", str(cpus * 8))  # higher: never above the node
    assert load_profile("slurm")["cores"] == cpus


def test_profile_refuses_a_partition_without_nodes(
    slurm_cluster: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SEQPIPE_SLURM_PARTITION", "no-such-partition")
    with pytest.raises(YteError, match="SlurmSizingError: partition 'no-such-partition' has no nodes"):
        load_profile("slurm")

    (tmp_path / "Snakefile").write_text('rule all:\n    shell: "true"\n')
    run = run_snakemake(
        snakemake_argv("slurm", profiles=REPO / "profiles"), cwd=tmp_path, timeout=120, check=False
    )
    assert run.returncode != 0
    assert "partition 'no-such-partition' has no nodes" in run.log
    assert "has been submitted" not in run.log


IMPOSSIBLE = """
rule all:
    input:
        "wide.txt",
        "fat.txt",


rule ask_more_cpus_than_a_node:
    output:
        "wide.txt",
    resources:
        cpus_per_task={cpus},
    shell:
        "touch {{output}}"


rule ask_more_memory_than_a_node:
    output:
        "fat.txt",
    resources:
        mem_mb={mem},
    shell:
        "touch {{output}}"
"""


def test_job_that_can_never_start_fails_the_run_with_its_pending_reason(
    slurm_cluster: None, tmp_path: Path
) -> None:
    """A rule asking for more CPUs per task than the node has is accepted by sbatch and pends with
    reason PartitionConfig; seqpipe's executor cancels it and fails it with that reason on every
    attempt. A rule asking for more memory than the node has is refused by sbatch at once."""
    cpus, mem = _node()
    (tmp_path / "Snakefile").write_text(IMPOSSIBLE.format(cpus=cpus * 2, mem=mem + 1000))
    argv = snakemake_argv("slurm", profiles=REPO / "profiles", extra=FAST_STATUS)

    started = time.monotonic()
    run = run_snakemake(argv, cwd=tmp_path, timeout=300, env=_env_without_cap(), check=False)
    elapsed = time.monotonic() - started

    assert run.returncode == 1, run.log[-3000:]
    assert elapsed < 60, f"the impossible run took {elapsed:.0f} s to fail"
    never = re.findall(r"SLURM job '(\d+)' can never start, pending with reason 'PartitionConfig'", run.log)
    assert len(set(never)) == RETRIES_MAX, run.log[-3000:]  # each attempt, each its own SLURM job
    assert re.search(
        r"Error in rule ask_more_cpus_than_a_node:\n\s+message: SLURM job '\d+' can never start", run.log
    )
    assert "Error in rule ask_more_memory_than_a_node" in run.log
    assert "Memory specification can not be satisfied" in run.log
    run_id = re.search(r"SLURM run ID: (\S+)", run.log).group(1)
    queued = subprocess.run(
        ["squeue", "--noheader", "--name", run_id], capture_output=True, text=True, check=True
    )
    assert queued.stdout.strip() == "", "hopeless jobs are cancelled, not left in the queue"
    time.sleep(5)  # slurmdbd records a cancellation some seconds after it
    accounted = {j["id"]: j for j in sacct_jobs(run_id)}
    for job_id in never:
        assert accounted[job_id]["state"].startswith("CANCELLED"), accounted[job_id]
        assert int(accounted[job_id]["req_cpus"]) == cpus * 2
