"""End to end: simulated reads → BCL run folder (the simulator) → demux → CRAM → VCF → QC, in one command."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from seqpipe.accuracy import evaluate
from seqpipe.execution.command import snakemake_argv
from seqpipe.qc.summary import QcSummary
from seqpipe.simulate import SimulationParams, simulate
from seqpipe.simulate.bcl_run_folder import WrittenCluster, run_folder_from_units

REPO = Path(__file__).resolve().parents[2]
SAMPLES = ("S1", "S2")
pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class RunFolderPipeline:
    data: Path
    outdir: Path
    written: list[WrittenCluster]


@pytest.fixture(scope="module")
def from_run_folder(tmp_path_factory: pytest.TempPathFactory) -> RunFolderPipeline:
    base = tmp_path_factory.mktemp("bcl_e2e")
    data = base / "data"
    # Tiny on purpose (CI): one 60 kb contig, two samples at 15x, one unit per lane.
    simulate(SimulationParams(outdir=data, seed=5, genome_size=60_000, contigs=1,
                              samples=(("S1", 15.0), ("S2", 15.0)), units_per_sample=2))  # fmt: skip
    run = base / "260101_SIM001_0001_AFLOWCELLX"
    written = run_folder_from_units(data / "units.tsv", run, undetermined_per_lane=10)
    outdir = base / "results"
    config = base / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "run_folder": str(run),
                "reference": {"fasta": str(data / "reference" / "genome.fa")},
                "outdir": str(outdir),
                "calling": {"callers": ["bcftools"], "scatter": 1},
                "demux": {"min_reads": 100},
            }
        )
    )
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    workflow = ["--snakefile", str(REPO / "Snakefile"), "--directory", str(base), "--cores", "2"]
    argv = snakemake_argv("local", profiles=REPO / "profiles", configfile=config, extra=workflow)
    result = subprocess.run(
        [sys.executable, "-m", *argv], capture_output=True, text=True, env=env, timeout=1800, cwd=base
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return RunFolderPipeline(data, outdir, written)


def _names(path: Path) -> list[str]:
    with gzip.open(path, "rt") as fh:
        return [line[1:].split()[0] for n, line in enumerate(fh) if n % 4 == 0]


def test_every_read_lands_in_its_sample(from_run_folder: RunFolderPipeline) -> None:
    for lane in (1, 2):
        for sample in (*SAMPLES, "Undetermined"):
            fastq = from_run_folder.outdir / "fastq" / f"{sample}_L00{lane}_R1.fastq.gz"
            expected = sorted(
                w.read_name
                for w in from_run_folder.written
                if w.lane == lane and (w.cluster.sample or "Undetermined") == sample
            )
            assert sorted(_names(fastq)) == expected, (sample, lane)


def test_demultiplexed_reads_are_the_simulated_reads(from_run_folder: RunFolderPipeline) -> None:
    by_name = {w.read_name: w.cluster for w in from_run_folder.written if w.lane == 1}
    with gzip.open(from_run_folder.outdir / "fastq" / "S1_L001_R2.fastq.gz", "rt") as fh:
        lines = fh.read().splitlines()
    for i in range(0, len(lines), 4):
        cluster = by_name[lines[i][1:].split()[0]]
        assert (lines[i + 1], lines[i + 3]) == (cluster.read2, cluster.qual2)


@pytest.mark.parametrize("sample", SAMPLES)
def test_calls_from_the_run_folder_match_the_truth(from_run_folder: RunFolderPipeline, sample: str) -> None:
    result = evaluate(
        from_run_folder.data / "truth" / f"{sample}.vcf.gz",
        from_run_folder.outdir / "vcf" / f"{sample}.bcftools.vcf.gz",
        from_run_folder.data / "reference" / "genome.fa",
        sample=sample,
    )
    snv = result.metrics["all"]["SNV"]
    assert snv.precision >= 0.95, result.table()
    assert snv.recall >= 0.85, result.table()


def test_one_multiqc_report_holds_the_run_qc(from_run_folder: RunFolderPipeline) -> None:
    data = from_run_folder.outdir / "qc" / "multiqc_data"
    for section in ("demux_lanes", "demux_reads_plot", "demux_unknown_barcodes", "interop_lanes"):
        assert (data / f"multiqc_{section}.txt").is_file(), section
    assert (from_run_folder.outdir / "cram" / "S1.cram").is_file()
    qc = (from_run_folder.outdir / "qc" / "demux" / "demux_qc.tsv").read_text()
    assert "S1\tdemux_read_pairs\t" in qc and "\tPASS\t" in qc
    summary = (from_run_folder.outdir / "qc" / "qc_summary.tsv").read_text()
    assert "S1\tdemux_read_pairs\t" in summary and "S1\tmean_depth\t" in summary
    recorded = QcSummary.from_json((from_run_folder.outdir / "qc" / "qc_summary.json").read_text())
    assert {"demux_read_pairs", "mean_depth"} <= {c.metric for c in recorded.samples["S1"].checks}
    assert recorded.samples["S1"].metrics["demux_read_pairs"] > 100
    assert {c.sample for c in recorded.run_checks} == {"L001", "L002"}
