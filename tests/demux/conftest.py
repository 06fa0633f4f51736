"""Fixtures of the demux tests: simulated run folders, Snakemake on the demux rules."""

from __future__ import annotations

import functools
import random
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from seqpipe.execution.command import snakemake_argv, workflow_environment
from seqpipe.simulate.bcl_run_folder import (
    Cluster,
    RunFolderWriter,
    SheetSample,
    WrittenCluster,
    index_pairs,
    unique_dual_index_pairs,
    write_run_folder,
)
from seqpipe.simulate.cbcl_run_folder import (
    NEXTSEQ_2000,
    NOVASEQ_6000,
    NOVASEQ_X,
    CbclInstrument,
    write_cbcl_run_folder,
)

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[2]
UNKNOWN_I7 = "GGGGGGGG"  # far from every Nextera index: these clusters must end up Undetermined


@dataclass(frozen=True)
class SimulatedRun:
    folder: Path
    written: list[WrittenCluster]
    samples: list[SheetSample]


def simulate_run(
    folder: Path,
    samples: int = 3,
    pairs_per_lane: int = 30,
    read_length: int = 36,
    indexes: Callable[[int], list[tuple[str, str]]] = index_pairs,
    write: RunFolderWriter = write_run_folder,
    lanes: Sequence[int] = (1, 2),
) -> SimulatedRun:
    """Random read pairs for `samples` samples per lane, 4 undetermined and 2 non-PF clusters per lane.

    With unique dual indexes, each lane also has 2 index hops (i7 of one sample, i5 of the next).
    """
    rng = random.Random(7)

    def seq(n: int) -> str:
        return "".join(rng.choice("ACGT") for _ in range(n))

    def qual(n: int) -> str:
        return "".join(chr(33 + rng.randint(2, 41)) for _ in range(n))

    sheet = [SheetSample(f"SAMPLE-{i + 1}", i7, i5) for i, (i7, i5) in enumerate(indexes(samples))]
    clusters_by_lane: dict[int, list[Cluster]] = {}
    failing = set()
    for lane in lanes:
        clusters = []
        for s in sheet:
            for n in range(pairs_per_lane):
                i7 = (
                    s.index1 if n % 5 else s.index1[:-1] + ("A" if s.index1[-1] != "A" else "C")
                )  # 1 mismatch
                clusters.append(
                    Cluster(f"{s.sample_id}_{lane}_{n}", s.sample_id, seq(read_length), qual(read_length),
                            seq(read_length), qual(read_length), i7, s.index2)
                )  # fmt: skip
        for n in range(4):
            clusters.append(
                Cluster(f"unknown_{lane}_{n}", "", seq(read_length), qual(read_length), seq(read_length),
                        qual(read_length), UNKNOWN_I7, "TTTTTTTT")
            )  # fmt: skip
        if len({s.index2 for s in sheet}) > 1:
            for n in range(2):
                hop = (sheet[n].index1, sheet[n + 1].index2)
                clusters.append(
                    Cluster(f"index_hop_{lane}_{n}", "", seq(read_length), qual(read_length),
                            seq(read_length), qual(read_length), *hop)
                )  # fmt: skip
        failing |= {clusters[3].name, clusters[40].name}
        rng.shuffle(clusters)
        clusters_by_lane[lane] = clusters
    written = write(folder, clusters_by_lane, sheet, failing_filter=frozenset(failing))
    return SimulatedRun(folder, written, sheet)


def simulate_cbcl_run(folder: Path, instrument: CbclInstrument, non_pf_excluded: bool = True) -> SimulatedRun:
    """simulate_run's clusters (3 samples with unique dual indexes, so with index hops) as a CBCL run, in
    two lanes or the instrument's one."""
    return simulate_run(
        folder,
        indexes=unique_dual_index_pairs,
        lanes=range(1, min(2, instrument.flowcell.lane_count) + 1),
        write=functools.partial(
            write_cbcl_run_folder, instrument=instrument, non_pf_excluded=non_pf_excluded
        ),
    )


DEMUX_SNAKEFILE = f"""
include: "{REPO}/rules/demux.smk"


rule all:
    input:
        [fq for lane in DEMUX.lanes for fq in DEMUX.lane_fastqs(lane)],
        [f"{{fq}}.md5" for lane in DEMUX.lanes for fq in DEMUX.lane_fastqs(lane)],
        demux_qc_files(),
"""


def run_demux_workflow(workdir: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    """Snakemake on rules/demux.smk alone (the core pipeline's tests cover the rest)."""
    import yaml

    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "Snakefile").write_text(DEMUX_SNAKEFILE)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    env = workflow_environment()
    argv = snakemake_argv(
        "local", profiles=REPO / "profiles", configfile="config.yaml", extra=["--cores", "2", *args]
    )
    return subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="session")
def viralngs() -> Path:
    return DATA / "viralngs"


@pytest.fixture(scope="session")
def simulated_run(tmp_path_factory: pytest.TempPathFactory) -> SimulatedRun:
    return simulate_run(tmp_path_factory.mktemp("run") / "260101_SIM001_0001_AFLOWCELLX")


@pytest.fixture(scope="session")
def make_simulated_run() -> Callable[..., SimulatedRun]:
    return simulate_run


@pytest.fixture(scope="session")
def novaseq_6000_run(tmp_path_factory: pytest.TempPathFactory) -> SimulatedRun:
    """A NovaSeq 6000 CBCL run, non-PF clusters left out of the CBCLs (RTA3's default)."""
    return simulate_cbcl_run(tmp_path_factory.mktemp("cbcl") / NOVASEQ_6000.run.run_id, NOVASEQ_6000)


@pytest.fixture(scope="session")
def novaseq_x_run(tmp_path_factory: pytest.TempPathFactory) -> SimulatedRun:
    """A NovaSeq X CBCL run with its non-PF clusters kept in the CBCLs."""
    folder = tmp_path_factory.mktemp("cbcl") / NOVASEQ_X.run.run_id
    return simulate_cbcl_run(folder, NOVASEQ_X, non_pf_excluded=False)


@pytest.fixture(scope="session")
def nextseq_2000_run(tmp_path_factory: pytest.TempPathFactory) -> SimulatedRun:
    """A NextSeq 2000 P1 CBCL run: its one lane, non-PF clusters left out of the CBCLs."""
    return simulate_cbcl_run(tmp_path_factory.mktemp("cbcl") / NEXTSEQ_2000.run.run_id, NEXTSEQ_2000)


@pytest.fixture(scope="session")
def demux_workflow() -> Callable[..., subprocess.CompletedProcess]:
    return run_demux_workflow
