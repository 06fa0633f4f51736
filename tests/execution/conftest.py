"""Fixtures for running the unchanged workflow on each engine: the SLURM cluster, S3 buckets and an
AWS Batch queue on the local endpoint, one generated dataset per session, and a snakemake runner
that can never hang (always under ``timeout --kill-after``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


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
    """Run ``snakemake`` (``argv[0]``) under ``timeout --kill-after``: a misconfigured executor hangs
    instead of failing (the SLURM plugin without accounting, a lost Batch job), and SIGTERM alone
    does not stop Snakemake while it waits for jobs."""
    assert argv[0] == "snakemake", argv
    cmd = ["timeout", "--kill-after=20", str(timeout), SNAKEMAKE, *argv[1:]]
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    logs = sorted(cwd.glob("snakemake-run-*.log"))
    (cwd / f"snakemake-run-{len(logs) + 1}.log").write_text(" ".join(cmd) + "\n" + proc.stdout)
    run = Run(proc.returncode, proc.stdout)
    if check and not run.ok:
        reason = "timed out" if proc.returncode in (124, 137) else f"exit code {proc.returncode}"
        pytest.fail(f"snakemake {reason} in {cwd}: {' '.join(argv)}\n{proc.stdout[-6000:]}", pytrace=False)
    return run


@pytest.fixture(scope="session")
def snakemake_runner() -> Callable[..., Run]:
    return run_snakemake


def _slurm_answers() -> bool:
    try:
        return (
            subprocess.run(["sinfo", "-h"], capture_output=True, timeout=20).returncode == 0
            and subprocess.run(["sacct", "-n", "-X"], capture_output=True, timeout=20).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[None]:
    """The single-node SLURM cluster with accounting (scripts/slurm-up.sh): used as is when
    scripts/test.sh started it (SEQPIPE_SLURM_UP=1), started and stopped here when root, and a
    clear failure otherwise, never a silent skip."""
    if os.environ.get("SEQPIPE_SLURM_UP") == "1":
        if not _slurm_answers():
            pytest.fail("SEQPIPE_SLURM_UP=1 but `sinfo`/`sacct` do not answer; see /var/log/slurm/")
        yield
        return
    if os.geteuid() != 0:
        pytest.fail(
            "the SLURM tests need the local cluster, which only root can start: run `bash scripts/test.sh` "
            "as root, or `sudo bash scripts/slurm-up.sh` and then pytest with SEQPIPE_SLURM_UP=1"
        )
    was_up = _slurm_answers()
    up = subprocess.run(["bash", str(REPO / "scripts/slurm-up.sh")], capture_output=True, text=True)
    if up.returncode != 0:
        pytest.fail(f"scripts/slurm-up.sh failed:\n{up.stdout[-3000:]}{up.stderr[-3000:]}")
    yield
    if not was_up:
        subprocess.run(["bash", str(REPO / "scripts/slurm-down.sh"), "--purge"], capture_output=True)


def sacct_jobs(run_name_filter: str | None = None) -> list[dict[str, str]]:
    """Allocations (not steps) SLURM accounted for since the cluster started."""
    fields = ("id", "name", "state", "comment", "account")
    out = subprocess.run(
        ["sacct", "-XnP", "--starttime=now-1days", "--format=JobIDRaw,JobName,State,Comment,Account"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    jobs = [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines() if line]
    return [j for j in jobs if run_name_filter is None or j["name"] == run_name_filter]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(scope="session")
def have_tools() -> None:
    missing = [t for t in ("timeout", "git") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing commands: {missing}")
