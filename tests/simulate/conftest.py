"""A small generated data set shared by the generator tests (one generation, a few seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seqpipe.simulate import SimulationParams, simulate

SMALL = dict(seed=7, genome_size=120_000, samples=(("S1", 8.0), ("S2", 4.0)), units_per_sample=2)


@pytest.fixture(scope="session")
def small_params() -> dict:
    return dict(SMALL)


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("simulate") / "demo"
    simulate(SimulationParams(outdir=outdir, **SMALL))
    return outdir


@pytest.fixture(scope="session")
def small_manifest(small_demo: Path) -> dict:
    return json.loads((small_demo / "manifest.json").read_text())
