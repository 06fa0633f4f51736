"""Helpers for the engine tests: the run directory of the demo run, a snakemake runner that can
never hang, and small SLURM/S3 queries. Fixtures are in conftest.py."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import run_directory  # tests/support, on sys.path through tests/conftest.py
import yte

from seqpipe.execution.command import workflow_environment

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SNAKEMAKE = str(VENV_BIN / "snakemake")


@dataclass
class Run:
    returncode: int
    log: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_snakemake(
    argv: Sequence[str], *, cwd: Path, timeout: int, env: dict[str, str] | None = None, check: bool = True
) -> Run:
    """Run ``snakemake`` (``argv[0]``, this venv's) under ``timeout --kill-after``: a misconfigured
    executor hangs instead of failing (the SLURM plugin without accounting, a lost Batch job), and
    SIGTERM alone does not stop Snakemake while it waits for jobs."""
    assert argv[0] == "snakemake", argv
    return run_venv_command([SNAKEMAKE, *argv[1:]], cwd=cwd, timeout=timeout, env=env, check=check)


def run_venv_command(
    argv: Sequence[str], *, cwd: Path, timeout: int, env: dict[str, str] | None = None, check: bool = True
) -> Run:
    """``argv`` (Snakemake, or a program that becomes Snakemake) as in ``run_snakemake``."""
    cmd = ["timeout", "--kill-after=20", str(timeout), *argv]
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=workflow_environment(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    logs = sorted(cwd.glob("snakemake-run-*.log"))
    (cwd / f"snakemake-run-{len(logs) + 1}.log").write_text(" ".join(cmd) + "\n" + proc.stdout)
    run = Run(proc.returncode, proc.stdout)
    if check and not run.ok:
        reason = "timed out" if proc.returncode in (124, 137) else f"exit code {proc.returncode}"
        pytest.fail(f"snakemake {reason} in {cwd}: {' '.join(argv)}\n{proc.stdout[-6000:]}", pytrace=False)
    return run


def load_profile(name: str) -> dict:
    """A profile as Snakemake reads it (its yte definitions run: the slurm one asks ``sinfo``)."""
    with (REPO / "profiles" / name / "config.yaml").open() as fh:
        return yte.process_yaml(fh, require_use_yte=True)


def job_stats(log: str) -> dict[str, int]:
    """Snakemake's own count of the jobs it planned, per rule (its "Job stats:" table)."""
    table = log.split("Job stats:", 1)[1].split("\ntotal", 1)[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def slurm_answers() -> bool:
    try:
        return (
            subprocess.run(["sinfo", "-h"], capture_output=True, timeout=20).returncode == 0
            and subprocess.run(["sacct", "-n", "-X"], capture_output=True, timeout=20).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def sacct_jobs(run_name_filter: str | None = None) -> list[dict[str, str]]:
    """Allocations (not steps) SLURM accounted for since the cluster started, with what they asked
    for (ReqMem like ``1000M``)."""
    fields = ("id", "name", "state", "comment", "account", "req_cpus", "req_mem", "reason")
    out = subprocess.run(
        [
            "sacct",
            "-XnP",
            "--starttime=now-1days",
            "--format=JobIDRaw,JobName,State,Comment,Account,ReqCPUS,ReqMem,Reason",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    jobs = [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines() if line]
    return [j for j in jobs if run_name_filter is None or j["name"] == run_name_filter]


SAMPLE = "S1"
UNITS = ("L001", "L002")
# the smallest plan that still has every kind of job: two units merged, both callers, one chunk
# (each SLURM or Batch job costs seconds of scheduling, whatever its size)
RUN_CONFIG = {"calling": {"callers": ["bcftools", "freebayes"], "scatter": 1}}


def make_run_dir(run_dir: Path, demo_data: Path) -> Path:
    return run_directory.make_run_dir(run_dir, demo_data, REPO, RUN_CONFIG)


def final_outputs(outdir: Path | str = "results") -> list[str]:
    """The kept results of the demo run, relative to the run directory."""
    names = [f"cram/{SAMPLE}.cram", f"cram/{SAMPLE}.cram.crai", f"cram/{SAMPLE}.cram.md5"]
    for caller in RUN_CONFIG["calling"]["callers"]:
        names += [f"vcf/{SAMPLE}.{caller}.vcf.gz", f"vcf/{SAMPLE}.{caller}.vcf.gz.tbi"]
    names += ["qc/qc_summary.tsv", "qc/multiqc_report.html"]
    return [f"{outdir}/{name}" for name in names]


PROCESSED_BUCKET = "seqpipe-test-processed"


def s3_keys(s3, bucket: str, prefix: str) -> dict[str, object]:
    """key -> LastModified under ``prefix``."""
    keys: dict[str, object] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.update({obj["Key"]: obj["LastModified"] for obj in page.get("Contents", [])})
    return keys
