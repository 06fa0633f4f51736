"""Scatter chunks, QC metric parsing and threshold verdicts."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from seqpipe.chunks import split_regions
from seqpipe.qc.metrics import duplicate_pct
from seqpipe.qc.summary import QcSummary
from seqpipe.qc.targets import target_metrics
from seqpipe.qc.verdicts import FAIL, PASS, WARN, Verdict, evaluate, read_verdicts, write_verdicts
from seqpipe.tsv import TsvError


@pytest.mark.parametrize("n", [2, 3, 4, 7])
def test_chunks_take_whole_regions_in_reference_order_balanced_by_callable_length(n: int) -> None:
    rng = random.Random(n)
    regions, start = [], 0
    for contig in ("chr1", "chr2", "chr3"):
        for _ in range(12):
            length = rng.randint(1000, 9000)
            regions.append((contig, start, start + length))
            start += length + rng.randint(100, 5000)  # an N gap
    chunks = split_regions(regions, n)
    assert len(chunks) == n and all(chunks)
    assert [region for chunk in chunks for region in chunk] == regions  # none cut, none moved
    total, longest = sum(e - s for _, s, e in regions), max(e - s for _, s, e in regions)
    for chunk in chunks:  # each cut is within half a region of the ideal one
        assert abs(sum(e - s for _, s, e in chunk) - total / n) <= longest


def test_a_region_longer_than_a_chunk_is_never_cut() -> None:
    regions = [("chr1", 0, 100), ("chr1", 200, 5000), ("chr2", 0, 100)]
    assert split_regions(regions, 3) == [[regions[0]], [regions[1]], [regions[2]]]
    assert split_regions([("chr1", 0, 1000)], 4) == [[("chr1", 0, 1000)], [], [], []]


def test_fewer_regions_than_chunks_leave_the_last_chunks_empty() -> None:
    regions = [("chr1", 0, 1000), ("chr2", 0, 450), ("chr3", 0, 50)]
    assert split_regions(regions, 5) == [[regions[0]], [regions[1]], [regions[2]], [], []]
    assert split_regions([], 2) == [[], []]


def test_verdicts_pass_fail_and_unmeasured_with_reasons() -> None:
    thresholds = {
        "mapped_pct": {"min": 95},
        "duplicate_pct": {"max": 10},
        "tstv": {"min": 1.8, "max": 2.4},
        "mean_depth": {"min": 20},
    }
    verdicts = {
        v.metric: v
        for v in evaluate("S1", {"mapped_pct": 99.1, "duplicate_pct": 12.5, "tstv": 2.0}, thresholds)
    }
    assert verdicts["mapped_pct"].verdict == PASS and verdicts["tstv"].threshold == ">= 1.8 and <= 2.4"
    assert verdicts["duplicate_pct"].verdict == FAIL
    assert verdicts["duplicate_pct"].reason == "duplicate_pct 12.5 is above the maximum 10"
    assert (
        verdicts["mean_depth"].verdict == FAIL
        and verdicts["mean_depth"].reason == "mean_depth was not measured"
    )


def test_a_failing_verdict_names_its_cause_and_a_passing_one_gives_no_reason() -> None:
    limits = {"pairs_passing_pct": {"min": 90}}
    causes = {"pairs_passing_pct": "too_many_N_reads 41 % of reads"}
    (failing,) = evaluate("S1", {"pairs_passing_pct": 58.9}, limits, causes=causes)
    assert failing.verdict == FAIL
    assert failing.reason == "pairs_passing_pct 58.9 is below the minimum 90: too_many_N_reads 41 % of reads"
    (passing,) = evaluate("S1", {"pairs_passing_pct": 99.9}, limits, causes=causes)
    assert passing.verdict == PASS and passing.reason == ""


def test_verdict_table_round_trips(tmp_path: Path) -> None:
    verdicts = evaluate("S1", {"mapped_pct": 90.0}, {"mapped_pct": {"min": 95}, "tstv": {"min": 1}})
    write_verdicts(verdicts, tmp_path / "qc.tsv")
    assert read_verdicts(tmp_path / "qc.tsv") == verdicts


def test_a_verdict_table_with_a_bad_value_is_named_with_file_and_line(tmp_path: Path) -> None:
    table = tmp_path / "qc.tsv"
    table.write_text(
        "sample\tmetric\tvalue\tthreshold\tverdict\treason\nS1\tmean_depth\tdeep\t>= 10\tPASS\t\n"
    )
    with pytest.raises(TsvError, match=r"qc.tsv line 2, field 'value': a number or NA, got 'deep'"):
        read_verdicts(table)
    table.write_text("sample\tmetric\tvalue\n")
    with pytest.raises(
        TsvError, match=r"qc.tsv: the header lacks the column\(s\) threshold, verdict, reason"
    ):
        read_verdicts(table)


def test_summary_keeps_demux_checks_with_their_sample_and_lanes_apart() -> None:
    thresholds = {"mean_depth": {"min": 10}}
    checks = [
        *evaluate("S1", {"mean_depth": 31.5}, thresholds),
        *evaluate("S2", {"mean_depth": 4.0}, thresholds),
        Verdict("S1", "demux_read_pairs", 1200, ">= 100", PASS, ""),
        Verdict("L001", "percent_undetermined", 12.5, "<= 10", WARN, "percent_undetermined 12.5 is above"),
    ]
    summary = QcSummary.of({"S1": {"mean_depth": 31.5, "snps": 14}, "S2": {"mean_depth": 4.0}}, checks)

    assert QcSummary.from_json(summary.to_json()) == summary
    assert [(name, s.verdict) for name, s in summary.samples.items()] == [("S1", PASS), ("S2", FAIL)]
    assert summary.samples["S1"].metrics == {"mean_depth": 31.5, "snps": 14, "demux_read_pairs": 1200}
    assert [c.metric for c in summary.samples["S1"].checks] == ["mean_depth", "demux_read_pairs"]
    assert [c.sample for c in summary.run_checks] == ["L001"]
    assert sorted(summary.checks(), key=str) == sorted(checks, key=str)
    with pytest.raises(ValueError, match="not a QC summary"):
        QcSummary.from_json('{"samples": {"S1": {"metrics": {}}}}')


def test_duplicate_pct_reads_picard_metrics(tmp_path: Path) -> None:
    metrics = tmp_path / "picard.txt"
    metrics.write_text(
        "## htsjdk.samtools.metrics.StringHeader\n# MarkDuplicates\n\n"
        "## METRICS CLASS\tpicard.sam.DuplicationMetrics\n"
        "LIBRARY\tUNPAIRED_READS_EXAMINED\tREAD_PAIRS_EXAMINED\tPERCENT_DUPLICATION\nlib1\t0\t100\t0.0382\n"
    )
    assert abs(duplicate_pct(metrics) - 3.82) < 1e-9


def test_an_infinite_fold_80_fails_saying_how_much_of_the_targets_is_uncovered(tmp_path: Path) -> None:
    """mosdepth run as compute_target_coverage runs it, on reads over three of four 500 bp amplicons."""
    targets = [("chr1", start, start + 500) for start in (1000, 3000, 5000, 7000)]
    (tmp_path / "targets.bed").write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in targets))
    reads = "".join(
        f"r{start}_{copy}\t0\tchr1\t{start + 1}\t60\t100M\t*\t0\t0\t{'A' * 100}\t{'F' * 100}\n"
        for _, begin, _ in targets[:3]
        for start in range(begin - 50, begin + 500, 50)
        for copy in range(15)
    )
    (tmp_path / "reads.sam").write_text("@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:chr1\tLN:10000\n" + reads)
    bam = tmp_path / "reads.bam"
    subprocess.run(["samtools", "sort", "-o", str(bam), str(tmp_path / "reads.sam")], check=True)
    subprocess.run(["samtools", "index", str(bam)], check=True)
    prefix = tmp_path / "S1"
    subprocess.run(
        ["mosdepth", "--no-per-base", "--fast-mode", "--by", str(tmp_path / "targets.bed"),
         "--thresholds", "20", str(prefix), str(bam)],
        check=True,
    )  # fmt: skip
    (tmp_path / "on_target.txt").write_text("reads\t495\non_target\t495\n")
    metrics, no_value = target_metrics(
        f"{prefix}.mosdepth.summary.txt",
        f"{prefix}.mosdepth.region.dist.txt",
        f"{prefix}.thresholds.bed.gz",
        tmp_path / "on_target.txt",
    )
    assert metrics["fold_80"] is None and metrics["target_20x_pct"] == 75
    (verdict,) = evaluate("S1", metrics, {"fold_80": {"max": 1.8}}, no_value)
    assert verdict.verdict == FAIL and verdict.value is None
    assert verdict.reason == "fold_80 is not finite: 25 % of target bases have no coverage"
