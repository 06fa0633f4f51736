"""Strata, reads and sheets: what the pipeline and the accuracy command consume."""

from __future__ import annotations

import gzip
import itertools
import re
from collections import Counter

import pysam
import pytest
from click.testing import CliRunner

from seqpipe.cli.main import cli
from seqpipe.sheets import load_sheets

NAME = re.compile(rb"^@SIM:1:FCX:(\d+):(\d{4}):(\d+):(\d+) ([12]):N:0:([ACGT]{8})$")


def _fastq(path):
    with gzip.open(path, "rb") as f:
        lines = f.read().splitlines()
    return [lines[i : i + 4] for i in range(0, len(lines), 4)]


def test_strata_beds_are_sorted_merged_and_inside_the_contigs(small_demo):
    with pysam.FastaFile(str(small_demo / "reference" / "genome.fa")) as fasta:
        lengths = dict(zip(fasta.references, fasta.lengths, strict=True))
    names = {p.stem for p in (small_demo / "strata").glob("*.bed")}
    assert names == {"segdup", "interspersed", "str", "gc_extreme", "lowmap"}
    for name in names:
        rows = [line.split("\t") for line in (small_demo / "strata" / f"{name}.bed").read_text().splitlines()]
        assert rows, name
        intervals = [(c, int(s), int(e)) for c, s, e in rows]
        for chrom, start, end in intervals:
            assert chrom in lengths and 0 <= start < end <= lengths[chrom]
        for (c1, _, e1), (c2, s2, _) in itertools.pairwise(intervals):
            assert c1 < c2 or (c1 == c2 and e1 < s2), name


def test_the_reference_has_n_gaps_free_of_truth_features_and_reads(small_demo, small_manifest):
    """An assembly-like reference: N gaps in every contig, which no truth variant, stratum or read touches."""
    gaps = [tuple(gap) for gap in small_manifest["summary"]["gaps"]]
    with pysam.FastaFile(str(small_demo / "reference" / "genome.fa")) as fasta:
        sequences = {name: fasta.fetch(name) for name in fasta.references}
    assert {chrom for chrom, _, _ in gaps} == set(sequences)
    for chrom, start, end in gaps:
        assert end - start >= 100 and set(sequences[chrom][start:end]) == {"N"}
    assert sum(seq.count("N") for seq in sequences.values()) == sum(e - s for _, s, e in gaps)
    for sample in ("S1", "S2"):
        with pysam.VariantFile(str(small_demo / "truth" / f"{sample}.vcf.gz")) as truth:
            positions = [(r.chrom, r.start, r.stop) for r in truth]
        assert positions and not [
            p for p in positions if any(c == p[0] and s - 200 < p[2] and p[1] < e + 200 for c, s, e in gaps)
        ]
    for name in ("segdup", "interspersed", "str", "gc_extreme", "lowmap"):
        for line in (small_demo / "strata" / f"{name}.bed").read_text().splitlines():
            chrom, start, end = line.split("\t")
            assert "N" not in sequences[chrom][int(start) : int(end)], (name, line)
    reads = _fastq(small_demo / "reads" / "S1_L001_R1.fastq.gz")
    assert not [r for r in reads if b"NNNNNNNNNN" in r[1]]


def test_segmental_duplications_are_hard_to_map(small_demo, small_manifest):
    strata_bp = small_manifest["summary"]["strata_bp"]
    genome = small_manifest["summary"]["genome_bp"]
    assert 0.03 * genome <= strata_bp["segdup"] <= 0.15 * genome
    assert strata_bp["lowmap"] > 0


@pytest.mark.parametrize("sample, depth", [("S1", 8.0), ("S2", 4.0)])
def test_reads_have_expected_counts_names_length_and_duplicates(small_demo, small_manifest, sample, depth):
    summary = small_manifest["summary"]
    pairs, names = [], set()
    for lane, unit in enumerate(("L001", "L002"), start=1):
        r1 = _fastq(small_demo / "reads" / f"{sample}_{unit}_R1.fastq.gz")
        r2 = _fastq(small_demo / "reads" / f"{sample}_{unit}_R2.fastq.gz")
        assert (
            len(r1)
            == len(r2)
            == next(u["pairs"] for u in summary["units"] if (u["sample"], u["unit"]) == (sample, unit))
        )
        for a, b in zip(r1, r2, strict=True):
            m1, m2 = NAME.match(a[0]), NAME.match(b[0])
            assert m1 and m2, (a[0], b[0])
            assert m1.group(1) == b"%d" % lane and m1.groups()[:4] == m2.groups()[:4]
            assert (m1.group(5), m2.group(5)) == (b"1", b"2")
            assert len(a[1]) == len(a[3]) == len(b[1]) == len(b[3]) == 150 and a[2] == b"+"
        pairs += [(a[1], b[1]) for a, b in zip(r1, r2, strict=True)]
        names |= {a[0].split()[0] for a in r1}
    duplicates = summary["duplicate_pairs"][sample]
    unique = len(pairs) - duplicates
    # ART draws depth/2 per haplotype from the sequence between the N gaps: read pairs = depth *
    # sequenced bases / (2 * 150).
    sequenced = summary["genome_bp"] - sum(end - start for _, start, end in summary["gaps"])
    assert unique == pytest.approx(depth * sequenced / 300, rel=0.02)
    assert duplicates == round(0.04 * unique)
    assert sum(n - 1 for n in Counter(pairs).values()) == duplicates
    assert len(names) == len(pairs)  # every read name is unique, duplicates included


def test_reads_files_are_deterministic_gzip_without_name_or_time(small_demo):
    header = (small_demo / "reads" / "S1_L001_R1.fastq.gz").read_bytes()[:10]
    assert header[:2] == b"\x1f\x8b" and header[3] & 0x08 == 0 and header[4:8] == b"\0\0\0\0"


def test_sheets_pass_the_pipelines_own_validation(small_demo, repo):
    sheets = load_sheets(small_demo / "samples.tsv", small_demo / "units.tsv", repo / "config" / "schemas")
    assert set(sheets.samples) == {"S1", "S2"}
    assert {s.group for s in sheets.samples.values()} == {"demo"}
    assert sorted(sheets.units) == [("S1", "L001"), ("S1", "L002"), ("S2", "L001"), ("S2", "L002")]
    assert all(u.fq1.startswith("/") and u.platform == "ILLUMINA" for u in sheets.units.values())


def test_cli_rejects_a_bad_samples_value():
    result = CliRunner().invoke(cli, ["simulate", "--outdir", "x", "--samples", "S1=30"])
    assert result.exit_code == 2
    assert "'S1=30' is not NAME:DEPTH" in result.output


def test_cli_refuses_a_directory_holding_other_files(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    result = CliRunner().invoke(cli, ["simulate", "--outdir", str(tmp_path), "--genome-size", "60000"])
    assert result.exit_code == 1
    assert "is not empty and holds no earlier demo data set (found: precious.txt)" in result.output
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_cli_writes_a_data_set_and_says_where(tmp_path):
    outdir = tmp_path / "demo"
    args = [
        "simulate",
        "--outdir",
        str(outdir),
        "--genome-size",
        "60000",
        "--samples",
        "A:2",
        "--units-per-sample",
        "1",
    ]
    result = CliRunner().invoke(cli, [*args, "--no-lowmap"])
    assert result.exit_code == 0, result.output
    assert f"demo data written to {outdir.resolve()}" in result.output
    assert (outdir / "reads" / "A_L001_R2.fastq.gz").is_file()
    assert not (outdir / "strata" / "lowmap.bed").exists()
