"""Faults on the local engine, with the real workflow: a transient tool failure is retried per
profile; a run killed with SIGKILL mid-way leaves its running jobs' outputs marked incomplete, and
the rerun redoes only those and gives byte-identical results."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yte
from engine_harness import REPO, SNAKEMAKE, VENV_BIN, Run, final_outputs, make_run_dir, run_snakemake

from seqpipe.execution.command import snakemake_argv

pytestmark = pytest.mark.e2e

ARGV = snakemake_argv("local", profiles=REPO / "profiles", configfile="run.yaml", extra=["--cores", "2"])
# kept outputs compared byte for byte (the MultiQC report embeds its run time)
COMPARED = [f for f in final_outputs() if not f.endswith(".html")]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fail_once_shim(bin_dir: Path, tool: str, flag: Path) -> None:
    """``tool`` on PATH that fails its first call (a transient fault), then is the real tool."""
    real = subprocess.run(["which", tool], capture_output=True, text=True, check=True).stdout.strip()
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / tool
    shim.write_text(
        f'#!/bin/sh\nif [ ! -e "{flag}" ]; then touch "{flag}"; echo "injected fault" >&2; exit 1; fi\n'
        f'exec "{real}" "$@"\n'
    )
    shim.chmod(0o755)


@dataclass
class ReferenceRun:
    run_dir: Path
    run: Run
    checksums: dict[str, str]


@pytest.fixture(scope="module")
def reference_run(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> ReferenceRun:
    """An uninterrupted run in which the first mosdepth call (its version report) fails."""
    base = tmp_path_factory.mktemp("reference")
    run_dir = make_run_dir(base / "run", demo_data)
    _fail_once_shim(base / "faults", "mosdepth", base / "mosdepth-failed-once")
    env = dict(os.environ, PATH=f"{base / 'faults'}{os.pathsep}{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    run = run_snakemake(ARGV, cwd=run_dir, timeout=600, env=env)
    checksums = {f: sha256(run_dir / f) for f in COMPARED}
    # the interrupted run reuses the path: CRAM headers record the reference's absolute path
    run_dir.rename(run_dir.with_name("uninterrupted"))
    return ReferenceRun(run_dir, run, checksums)


def test_failing_job_is_retried_per_profile(reference_run: ReferenceRun) -> None:
    retries = yte.process_yaml((REPO / "profiles/local/config.yaml").open(), require_use_yte=True)["retries"]
    assert retries >= 1
    log = reference_run.run.log
    assert "injected fault" in log, "the fault was not injected"
    assert re.search(r"^Error in rule \w+:", log, re.MULTILINE)
    assert "Trying to restart job" in log, log[-3000:]
    assert "steps (100%) done" in log


def _incomplete_files(run_dir: Path) -> set[str]:
    markers = run_dir / ".snakemake" / "incomplete"
    if not markers.is_dir():
        return set()
    return {base64.urlsafe_b64decode(p.name.encode()).decode() for p in markers.rglob("*") if p.is_file()}


def _kill_after_jobs_finished(run_dir: Path, finished: int, timeout: float = 300) -> str:
    """Start the run in its own process group and SIGKILL the whole group (Snakemake and the
    tools it runs, as an OOM killer or a lost node would) once ``finished`` jobs are done and
    a running job has begun writing an output."""
    log_path = run_dir / "killed-run.log"
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [SNAKEMAKE, *ARGV[1:]],
            cwd=run_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            text = log_path.read_text()
            partial = [f for f in _incomplete_files(run_dir) if (run_dir / f).exists()]
            if text.count("Finished jobid") >= finished and partial:
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    text = log_path.read_text()
    assert "steps (100%) done" not in text, "the run finished before it could be killed"
    return text


def test_sigkill_midway_rerun_redoes_only_unfinished_jobs_and_is_byte_identical(
    reference_run: ReferenceRun, demo_data: Path
) -> None:
    run_dir = make_run_dir(reference_run.run_dir, demo_data)
    killed_log = _kill_after_jobs_finished(run_dir, finished=12)
    incomplete = _incomplete_files(run_dir)
    assert incomplete, "no job was running when the run was killed"
    done_before = {
        p.relative_to(run_dir).as_posix(): p.stat().st_mtime_ns
        for p in (run_dir / "results").rglob("*")
        # a killed job's log and benchmark file are not outputs (not marked incomplete): its rerun rewrites
        # them (the benchmark file when the kill came between its writing and the job's completion)
        if p.is_file()
        and p.relative_to(run_dir).as_posix() not in incomplete
        and "results/logs/" not in p.as_posix()
        and "results/benchmarks/" not in p.as_posix()
    }
    assert done_before, killed_log[-2000:]

    # a partial output never looks complete: without --rerun-incomplete Snakemake refuses to go on
    strict = subprocess.run(
        ["timeout", "120", SNAKEMAKE, "--cores", "1", "--configfile", "run.yaml", "--dry-run"],
        cwd=run_dir,
        capture_output=True,
        text=True,
        env=dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"),
    )
    partial = sorted(f for f in incomplete if (run_dir / f).exists())
    assert strict.returncode != 0 and "IncompleteFilesException" in strict.stdout + strict.stderr
    assert all(f in strict.stdout + strict.stderr for f in partial), partial

    # the killed run could not release its lock; --unlock is the documented first step
    run_snakemake([*ARGV, "--unlock"], cwd=run_dir, timeout=120)
    rerun = run_snakemake(ARGV, cwd=run_dir, timeout=600)

    redone = {
        f
        for f, mtime in done_before.items()
        if (run_dir / f).exists() and (run_dir / f).stat().st_mtime_ns != mtime
    }
    assert not redone, f"completed outputs recomputed: {sorted(redone)}"
    assert not _incomplete_files(run_dir)
    assert "steps (100%) done" in rerun.log
    checksums = {f: sha256(run_dir / f) for f in COMPARED}
    differing = [f for f in COMPARED if checksums[f] != reference_run.checksums[f]]
    assert not differing, f"differ from the uninterrupted run: {differing}"
