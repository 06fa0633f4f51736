"""Trimming keeps the reads a caller can use, and the read-level QC says what fastp dropped.

Real HiSeq X reads of NA12878 (a chr22 slice with its GIAB SNPs) whose read 1 has a few N cycles in
many pairs, and simulated lanes: one with a bad cycle (kept), one where most reads fail fastp's filters.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pysam
import pytest
import yaml

from seqpipe.qc.metrics import FastpCounts
from seqpipe.qc.summary import read_level_qc
from seqpipe.qc.verdicts import FAIL, PASS, Verdict, read_verdicts
from seqpipe.simulate import SimulationParams, simulate

from .conftest import REPO, VENV_BIN, PipelineRun, run_workflow

TINY = "freebayes-na12878-tiny"
READ_LEVEL = ("pairs_passing_pct", "q30_pct", "adapter_trimmed_pct", "read_pairs")
CALLERS = ("bcftools", "freebayes")


def _default_thresholds() -> dict[str, dict[str, float]]:
    schema = yaml.safe_load((REPO / "config/schemas/config.schema.yaml").read_text())
    return schema["properties"]["qc"]["properties"]["thresholds"]["default"]


def _reads(source: Path) -> tuple[Path, Path]:
    return tuple(source / "derived" / f"NA12878.chr22.tiny_{read}.fastq.gz" for read in ("R1", "R2"))


def _checks(run: PipelineRun) -> dict[tuple[str, str], Verdict]:
    return {(v.sample, v.metric): v for v in read_verdicts(run.path("qc/qc_summary.tsv"))}


@pytest.fixture(scope="module")
def na12878(shared_testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    """The real reads through the whole workflow, both callers, with the default trimming and limits."""
    source = shared_testdata / TINY
    tmp = tmp_path_factory.mktemp("na12878")
    reference = tmp / "q.fa"
    shutil.copyfile(source / "q.fa", reference)  # the shared copy is read-only; indexes go beside it
    r1, r2 = _reads(source)
    (tmp / "samples.tsv").write_text("sample\nNA12878\n")
    (tmp / "units.tsv").write_text(f"sample\tunit\tfq1\tfq2\nNA12878\tL001\t{r1}\t{r2}\n")
    return run_workflow(
        tmp,
        tmp,
        reference=reference,
        calling={"callers": list(CALLERS), "scatter": 1},
        # the default limits, and the slice's 1,633 pairs as the design's minimum
        qc={"thresholds": {**_default_thresholds(), "read_pairs": {"min": 1500}}},
    )


def test_fastp_defaults_drop_the_pairs_with_n_cycles_and_the_counts_name_the_filter(
    shared_testdata: Path, tmp_path: Path
) -> None:
    r1, r2 = _reads(shared_testdata / TINY)
    report = tmp_path / "fastp.json"
    subprocess.run(
        ["fastp", "--in1", r1, "--in2", r2, "--stdout", "--thread", "1", "--json", report, "--html",
         tmp_path / "fastp.html"],
        check=True, capture_output=True,
    )  # fmt: skip
    counts = FastpCounts.read(report)
    assert counts.metrics()["pairs_passing_pct"] < 60
    assert counts.dropped_by().startswith("too_many_N_reads 41 % of reads")


def test_an_empty_lane_fails_saying_it_has_no_reads(shared_testdata: Path, tmp_path: Path) -> None:
    r1, r2 = _reads(shared_testdata / TINY)
    empty = tmp_path / "empty.fastq"
    empty.write_text("")
    reports = {}
    for unit, reads in {"L001": (r1, r2), "L002": (empty, empty)}.items():
        reports[unit] = tmp_path / f"{unit}.fastp.json"
        subprocess.run(
            ["fastp", "--in1", reads[0], "--in2", reads[1], "--stdout", "--thread", "1", "--json",
             reports[unit], "--html", tmp_path / f"{unit}.fastp.html", "--n_base_limit", "15"],
            check=True, capture_output=True,
        )  # fmt: skip
    counts, (full, empty_lane) = read_level_qc("S1", reports, {"pairs_passing_pct": {"min": 90}})
    assert counts.metrics()["read_pairs"] == 1633 and full.verdict == PASS
    assert empty_lane.metric == "pairs_passing_pct.L002" and empty_lane.value is None
    assert empty_lane.verdict == FAIL and empty_lane.reason == "fastp read no reads"


def test_real_reads_with_n_cycles_are_kept(na12878: PipelineRun) -> None:
    report = json.loads(na12878.path("qc/fastp/NA12878.L001.fastp.json").read_text())
    counts = FastpCounts.read(na12878.path("qc/fastp/NA12878.L001.fastp.json"))
    assert counts.reads == 3266
    assert counts.passed >= 0.98 * counts.reads, report["filtering_result"]
    # the pairs with N cycles are aligned, not only kept by fastp
    flagstat = na12878.path("qc/samtools/NA12878.flagstat").read_text()
    assert int(flagstat.split()[0]) >= 0.98 * counts.reads


def test_real_reads_pass_the_read_level_verdicts(na12878: PipelineRun) -> None:
    checks = _checks(na12878)
    for metric in READ_LEVEL:
        assert checks[("NA12878", metric)].verdict == PASS, checks[("NA12878", metric)]
    assert checks[("NA12878", "pairs_passing_pct")].value >= 98
    assert checks[("NA12878", "read_pairs")].value == 1633
    # a single lane is the sample: no lane check of its own
    assert not [key for key in checks if key[1].startswith("pairs_passing_pct.")]


@pytest.mark.parametrize("caller", CALLERS)
def test_every_giab_snp_is_a_pass_call(na12878: PipelineRun, shared_testdata: Path, caller: str) -> None:
    source = shared_testdata / TINY
    with pysam.VariantFile(str(source / "NA12878.chr22.tiny.giab.vcf")) as truth:
        expected = {(r.pos, r.ref, r.alts[0]) for r in truth}
    with pysam.VariantFile(str(na12878.path(f"vcf/NA12878.{caller}.vcf.gz"))) as calls:
        called = {snp for r in calls if "PASS" in r.filter for snp in _snps(r)}
    assert len(expected) == 14
    assert expected <= called, sorted(expected - called)
    # the GIAB file as released: seqpipe accuracy declares its undeclared contig and INFO tag
    scores = subprocess.run(
        [f"{VENV_BIN}/seqpipe", "accuracy", "--truth", source / "NA12878.chr22.tiny.giab.vcf", "--query",
         na12878.path(f"vcf/NA12878.{caller}.vcf.gz"), "--reference", na12878.data / "q.fa", "--pass-only",
         "--json"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    snv = json.loads(scores.stdout)["metrics"]["all"]["SNV"]
    assert snv["recall"] == 1.0 and snv["tp"] == 14, snv


def _snps(record: pysam.VariantRecord) -> list[tuple[int, str, str]]:
    """The SNPs of a call: freebayes writes nearby SNPs of one haplotype as one record (GCCC>ACCT)."""
    ref, alt = record.ref, record.alts[0]
    if len(ref) != len(alt):
        return []
    return [(record.pos + i, r, a) for i, (r, a) in enumerate(zip(ref, alt, strict=True)) if r != a]


def _write_n_block(fastq: Path, first_cycle: int, cycles: int, every: int, kept: int) -> None:
    """Read 1 of all but `kept` of every `every` pairs gets N (quality 2) at `cycles` cycles from
    `first_cycle` (1-based), as a bad cycle or a failing flow cell writes them."""
    with gzip.open(fastq, "rt") as fh:
        lines = fh.read().splitlines()
    start, end = first_cycle - 1, first_cycle - 1 + cycles
    for i in range(0, len(lines), 4):
        if (i // 4) % every >= kept:
            seq, qual = lines[i + 1], lines[i + 3]
            lines[i + 1] = seq[:start] + "N" * cycles + seq[end:]
            lines[i + 3] = qual[:start] + "#" * cycles + qual[end:]
    with gzip.open(fastq, "wt") as fh:
        fh.write("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def lanes(tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    """Two samples of two lanes: S1's L001 has four N cycles in half its pairs (a bad cycle), S2's
    L002 has 30 N cycles in four pairs of five (a failing lane)."""
    tmp = tmp_path_factory.mktemp("lanes")
    data = tmp / "data"
    simulate(
        SimulationParams(
            outdir=data, seed=3, genome_size=60_000, contigs=1, samples=(("S1", 20.0), ("S2", 20.0)),
            units_per_sample=2, lowmap=False,
        )
    )  # fmt: skip
    _write_n_block(data / "reads" / "S1_L001_R1.fastq.gz", first_cycle=48, cycles=4, every=2, kept=1)
    _write_n_block(data / "reads" / "S2_L002_R1.fastq.gz", first_cycle=60, cycles=30, every=5, kept=1)
    return run_workflow(tmp, data, calling={"callers": ["bcftools"], "scatter": 1})


def test_a_lane_with_a_bad_cycle_is_kept_aligned_and_passes(lanes: PipelineRun) -> None:
    counts = FastpCounts.read(lanes.path("qc/fastp/S1.L001.fastp.json"))
    assert counts.passed == counts.reads
    cram = lanes.path("cram/S1.cram")
    reference = lanes.path("reference/genome.fa")
    with pysam.AlignmentFile(str(cram), "rc", reference_filename=str(reference)) as aln:
        lane = [r for r in aln.fetch(until_eof=True) if r.get_tag("RG") == "S1.L001" and not r.is_secondary]
    assert len([r for r in lane if not r.is_supplementary]) == counts.reads
    assert sum(not r.is_unmapped for r in lane) >= 0.98 * counts.reads
    checks = _checks(lanes)
    # the default limits: read_pairs has none (its minimum is the design's)
    assert ("S1", "read_pairs") not in checks
    for metric in (*READ_LEVEL[:-1], "pairs_passing_pct.L001", "pairs_passing_pct.L002"):
        assert checks[("S1", metric)].verdict == PASS, checks[("S1", metric)]


def test_a_lane_where_most_reads_fail_filters_fails_naming_the_filter(lanes: PipelineRun) -> None:
    checks = _checks(lanes)
    lane = checks[("S2", "pairs_passing_pct.L002")]
    assert lane.verdict == FAIL and 19.9 < lane.value < 20.1
    assert re.match(
        r"pairs_passing_pct.L002 20(\.\d+)? is below the minimum 90: too_many_N_reads 80 % of reads",
        lane.reason,
    )
    assert checks[("S2", "pairs_passing_pct.L001")].verdict == PASS
    # the sample loses 40 % of its pairs: it fails on its own too, for the same filter
    sample = checks[("S2", "pairs_passing_pct")]
    assert sample.verdict == FAIL and sample.reason.endswith(": too_many_N_reads 40 % of reads")
    summary = json.loads(lanes.path("qc/qc_summary.json").read_text())
    assert summary["samples"]["S2"]["verdict"] == FAIL
    multiqc_rows = {
        row.split("\t")[0]: row.split("\t")
        for row in lanes.path("qc/qc_summary_mqc.tsv").read_text().splitlines()
        if not row.startswith("#")
    }
    assert multiqc_rows["S2"][1] == FAIL and "too_many_N_reads 80 % of reads" in multiqc_rows["S2"][2]
    assert "pairs_passing_pct" in multiqc_rows["Sample"] and "q30_pct" in multiqc_rows["Sample"]
