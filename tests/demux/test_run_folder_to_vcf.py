"""End to end: simulated reads → run folder (the simulator) → demux → CRAM → VCF → QC, in one command.

Three layouts of the same reads: a HiSeq-era BCL folder, a NovaSeq 6000 CBCL folder (non-PF clusters left
out of the CBCLs) and a NovaSeq X one (8-lane flow cell, i5 marked reverse complement, non-PF clusters kept),
each to its VCFs and MultiQC report.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pysam
import pytest
import yaml

from seqpipe.accuracy import evaluate
from seqpipe.execution.command import snakemake_argv, workflow_environment
from seqpipe.qc.summary import QcSummary
from seqpipe.simulate import SimulationParams, simulate
from seqpipe.simulate.bcl_run_folder import (
    RunFolderWriter,
    WrittenCluster,
    run_folder_from_units,
    write_run_folder,
)
from seqpipe.simulate.cbcl_run_folder import NOVASEQ_6000, NOVASEQ_X, write_cbcl_run_folder

REPO = Path(__file__).resolve().parents[2]
SAMPLES = ("S1", "S2")
pytestmark = pytest.mark.e2e
# layout -> (run folder name, writer)
LAYOUTS: dict[str, tuple[str, RunFolderWriter]] = {
    "bcl": ("260101_SIM001_0001_AFLOWCELLX", write_run_folder),
    "novaseq-6000": (
        NOVASEQ_6000.run.run_id,
        functools.partial(write_cbcl_run_folder, instrument=NOVASEQ_6000),
    ),
    "novaseq-x": (
        NOVASEQ_X.run.run_id,
        functools.partial(write_cbcl_run_folder, instrument=NOVASEQ_X, non_pf_excluded=False),
    ),
}


@dataclass(frozen=True)
class RunFolderPipeline:
    data: Path
    outdir: Path
    written: list[WrittenCluster]


@pytest.fixture(scope="module")
def simulated_reads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("reads")
    # Tiny on purpose (CI): one 60 kb contig, two samples at 15x, one unit per lane.
    simulate(SimulationParams(outdir=data, seed=5, genome_size=60_000, contigs=1,
                              samples=(("S1", 15.0), ("S2", 15.0)), units_per_sample=2))  # fmt: skip
    return data


@pytest.fixture(scope="module")
def pipelines(
    simulated_reads: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], RunFolderPipeline]:
    """Each layout's run through the pipeline, once per module, whichever test asks first."""
    done: dict[str, RunFolderPipeline] = {}

    def pipeline(layout: str) -> RunFolderPipeline:
        if layout not in done:
            done[layout] = _run_pipeline(simulated_reads, tmp_path_factory.mktemp(layout), layout)
        return done[layout]

    return pipeline


def _run_pipeline(data: Path, base: Path, layout: str) -> RunFolderPipeline:
    name, write = LAYOUTS[layout]
    run = base / name
    written = run_folder_from_units(
        data / "units.tsv",
        run,
        undetermined_per_lane=10,
        index_hops_per_lane=4,
        failing_per_lane=3,
        write=write,
    )
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
    env = workflow_environment()
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


def _expected_names(written: list[WrittenCluster], sample: str, lane: int | None = None) -> list[str]:
    """Read names of the PF clusters of a sample ("Undetermined": of no sample), in one lane or all."""
    return sorted(
        w.read_name
        for w in written
        if w.passes_filter
        and (lane is None or w.lane == lane)
        and (w.cluster.sample or "Undetermined") == sample
    )


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_pf_read_lands_in_its_sample(pipelines, layout: str) -> None:
    run = pipelines(layout)
    assert sum(not w.passes_filter for w in run.written) == 6
    for lane in (1, 2):
        for sample in (*SAMPLES, "Undetermined"):
            fastq = run.outdir / "fastq" / f"{sample}_L00{lane}_R1.fastq.gz"
            assert sorted(_names(fastq)) == _expected_names(run.written, sample, lane), (sample, lane)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_demultiplexed_reads_are_the_simulated_reads(pipelines, layout: str) -> None:
    run = pipelines(layout)
    by_name = {w.read_name: w.cluster for w in run.written if w.lane == 1}
    with gzip.open(run.outdir / "fastq" / "S1_L001_R2.fastq.gz", "rt") as fh:
        lines = fh.read().splitlines()
    for i in range(0, len(lines), 4):
        cluster = by_name[lines[i][1:].split()[0]]
        assert (lines[i + 1], lines[i + 3]) == (cluster.read2, cluster.qual2)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_pf_pair_of_a_sample_and_nothing_else_is_in_its_cram(pipelines, layout: str) -> None:
    run = pipelines(layout)
    for sample in SAMPLES:
        cram = run.outdir / "cram" / f"{sample}.cram"
        with pysam.AlignmentFile(
            str(cram), reference_filename=str(run.data / "reference" / "genome.fa")
        ) as fh:
            primary = [
                r.query_name
                for r in fh.fetch(until_eof=True)
                if not r.is_secondary and not r.is_supplementary
            ]
        assert len(primary) == 2 * len(set(primary))
        assert sorted(set(primary)) == _expected_names(run.written, sample)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_undetermined_reads_are_kept_counted_and_every_fastq_has_its_md5(pipelines, layout: str) -> None:
    run = pipelines(layout)
    table = (run.outdir / "qc" / "demux" / "demux_lanes_mqc.tsv").read_text().splitlines()
    header, *rows = [line.split("\t") for line in table if not line.startswith("#")]
    counted = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    for lane in (1, 2):
        undetermined = _expected_names(run.written, "Undetermined", lane)
        assert len(undetermined) == 10 + 4 - sum(
            not w.passes_filter for w in run.written if w.lane == lane and not w.cluster.sample
        )
        assert int(counted[f"L00{lane}"]["Undetermined"]) == len(undetermined)
    fastqs = sorted((run.outdir / "fastq").glob("*.fastq.gz"))
    assert len(fastqs) == 2 * 2 * (len(SAMPLES) + 1)
    for fastq in fastqs:
        md5 = hashlib.md5(fastq.read_bytes()).hexdigest()
        assert Path(f"{fastq}.md5").read_text() == f"{md5}  {fastq.name}\n"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("sample", SAMPLES)
def test_calls_from_the_run_folder_match_the_truth(pipelines, layout: str, sample: str) -> None:
    run = pipelines(layout)
    result = evaluate(
        run.data / "truth" / f"{sample}.vcf.gz",
        run.outdir / "vcf" / f"{sample}.bcftools.vcf.gz",
        run.data / "reference" / "genome.fa",
        sample=sample,
    )
    snv = result.metrics["all"]["SNV"]
    assert snv.precision >= 0.95, result.table()
    assert snv.recall >= 0.85, result.table()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_one_multiqc_report_holds_the_run_qc(pipelines, layout: str) -> None:
    run = pipelines(layout)
    data = run.outdir / "qc" / "multiqc_data"
    for section in ("demux_lanes", "demux_reads_plot", "demux_unknown_barcodes", "interop_lanes"):
        assert (data / f"multiqc_{section}.txt").is_file(), section
    barcodes = (data / "multiqc_picard_ExtractIlluminaBarcodes.txt").read_text()
    assert [line.split("\t")[0] for line in barcodes.splitlines()[1:]] == ["L001", "L002"], barcodes[:500]
    assert (run.outdir / "cram" / "S1.cram").is_file()
    qc = (run.outdir / "qc" / "demux" / "demux_qc.tsv").read_text()
    assert "S1\tdemux_read_pairs\t" in qc and "\tPASS\t" in qc
    summary = (run.outdir / "qc" / "qc_summary.tsv").read_text()
    assert "S1\tdemux_read_pairs\t" in summary and "S1\tmean_depth\t" in summary
    recorded = QcSummary.from_json((run.outdir / "qc" / "qc_summary.json").read_text())
    assert {"demux_read_pairs", "mean_depth"} <= {c.metric for c in recorded.samples["S1"].checks}
    assert recorded.samples["S1"].metrics["demux_read_pairs"] > 100
    assert {c.sample for c in recorded.run_checks} == {"L001", "L002"}
