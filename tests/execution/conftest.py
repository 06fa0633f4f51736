"""Fixtures for running the unchanged workflow on each engine: the SLURM cluster, an AWS Batch
queue on the local endpoint, and one generated dataset per session."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# the test modules share engine_harness.py; this directory is not a package
sys.path.insert(0, str(Path(__file__).parent))
from emulated_batch import BatchQueue, create_batch_queue
from engine_harness import REPO, SAMPLE, UNITS, make_run_dir, slurm_answers


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[None]:
    """The single-node SLURM cluster with accounting (scripts/slurm-up.sh): used as is when
    scripts/test.sh started it (SEQPIPE_SLURM_UP=1), started and stopped here when root, and a
    clear failure otherwise, never a silent skip."""
    if os.environ.get("SEQPIPE_SLURM_UP") == "1":
        if not slurm_answers():
            pytest.fail("SEQPIPE_SLURM_UP=1 but `sinfo`/`sacct` do not answer; see /var/log/slurm/")
        yield
        return
    if os.geteuid() != 0:
        pytest.fail(
            "the SLURM tests need the local cluster, which only root can start: run `bash scripts/test.sh` "
            "as root, or `sudo bash scripts/slurm-up.sh` and then pytest with SEQPIPE_SLURM_UP=1"
        )
    was_up = slurm_answers()
    up = subprocess.run(["bash", str(REPO / "scripts/slurm-up.sh")], capture_output=True, text=True)
    if up.returncode != 0:
        pytest.fail(f"scripts/slurm-up.sh failed:\n{up.stdout[-3000:]}{up.stderr[-3000:]}")
    yield
    if not was_up:
        subprocess.run(["bash", str(REPO / "scripts/slurm-down.sh"), "--purge"], capture_output=True)


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small generated dataset for the whole session: one sample in two units (a merge), a
    60 kb genome at 10x; every engine test runs the real workflow on it."""
    from seqpipe.simulate.run import SimulationParams, simulate

    out = tmp_path_factory.mktemp("demo") / "data"
    simulate(
        SimulationParams(
            outdir=out,
            genome_size=60_000,
            contigs=2,
            samples=((SAMPLE, 10.0),),
            units_per_sample=len(UNITS),
            lowmap=False,
        )
    )
    return out


@pytest.fixture
def run_dir(tmp_path: Path, demo_data: Path) -> Path:
    return make_run_dir(tmp_path / "run", demo_data)


@pytest.fixture
def batch_queue(aws: Callable) -> BatchQueue:
    """A Batch job queue on the local endpoint whose jobs run as local processes (the launcher's
    MOTO_BATCH_LOCAL_EXEC): the 'container' is this machine with this venv."""
    return create_batch_queue(aws("iam"), aws("batch"))
