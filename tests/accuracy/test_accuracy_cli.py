"""`seqpipe accuracy` from the command line: output formats and clear errors on bad input."""

from __future__ import annotations

import json
import random
import subprocess

import pytest
from click.testing import CliRunner

from seqpipe.cli.main import cli


def _run(*args: str):
    return CliRunner().invoke(cli, ["accuracy", *map(str, args)])


@pytest.fixture
def pair(reference, ref_seq, write_vcf):
    records = [(100, ref_seq[99], "G" if ref_seq[99] != "G" else "A", "0|1")]
    return write_vcf("truth", records), write_vcf("query", records)


def test_table_and_json_report_the_same_figures(reference, pair):
    truth, query = pair
    table = _run("--truth", truth, "--query", query, "--reference", reference)
    assert table.exit_code == 0, table.output
    assert "stratum" in table.output and "F1_gt" in table.output
    assert any(line.split()[:5] == ["all", "SNV", "1", "0", "0"] for line in table.output.splitlines())
    as_json = _run("--truth", truth, "--query", query, "--reference", reference, "--json")
    data = json.loads(as_json.output)
    assert data["metrics"]["all"]["SNV"]["f1"] == 1.0 and data["metrics"]["all"]["indel"]["f1"] is None
    assert data["truth_sample"] == data["query_sample"] == "S1"


def test_missing_truth_file_is_named(reference, pair, tmp_path):
    missing = tmp_path / "nope.vcf.gz"
    result = _run("--truth", missing, "--query", pair[1], "--reference", reference)
    assert result.exit_code == 1
    assert f"truth VCF not found: {missing}" in result.output
    assert "Traceback" not in result.output


def test_query_that_is_not_a_vcf_is_named(reference, pair, tmp_path):
    junk = tmp_path / "junk.vcf"
    junk.write_text("this is not a VCF\n")
    result = _run("--truth", pair[0], "--query", junk, "--reference", reference)
    assert result.exit_code == 1
    assert f"query VCF {junk} is not a readable VCF/BCF" in result.output


def test_sample_missing_from_a_vcf_is_named_with_the_samples_it_has(reference, pair):
    result = _run("--truth", pair[0], "--query", pair[1], "--reference", reference, "--sample", "NA12878")
    assert result.exit_code == 1
    assert f"sample 'NA12878' is not in truth VCF {pair[0]} (it has: S1)" in result.output


def test_multi_sample_vcf_needs_sample(reference, ref_seq, write_vcf, pair):
    joint = write_vcf(
        "joint", [(100, ref_seq[99], "G" if ref_seq[99] != "G" else "A", "0/1")], samples=("S1", "S2")
    )
    result = _run("--truth", pair[0], "--query", joint, "--reference", reference)
    assert result.exit_code == 1
    assert f"query VCF {joint} has 2 samples (S1, S2); choose one with --sample" in result.output
    assert (
        _run("--truth", pair[0], "--query", joint, "--reference", reference, "--sample", "S1").exit_code == 0
    )


def test_reference_without_the_vcfs_contig_is_reported(pair, tmp_path):
    other = tmp_path / "other.fa"
    other.write_text(">chrZ\n" + "".join(random.Random(1).choice("ACGT") for _ in range(3000)) + "\n")
    result = _run("--truth", pair[0], "--query", pair[1], "--reference", other)
    assert result.exit_code == 1
    assert (
        f"truth VCF {pair[0]} uses contig(s) not in reference {other}: chrA (wrong reference?)"
        in result.output
    )


def test_reference_with_other_bases_is_reported_as_a_mismatch(pair, tmp_path):
    other = tmp_path / "other.fa"
    other.write_text(">chrA\n" + "N" * 3000 + "\n")
    subprocess.run(["samtools", "faidx", str(other)], check=True)
    result = _run("--truth", pair[0], "--query", pair[1], "--reference", other)
    assert result.exit_code == 1
    assert f"normalizing truth VCF {pair[0]} against {other} failed" in result.output
    assert "mismatch" in result.output.lower()


def test_missing_reference_is_named(pair, tmp_path):
    result = _run("--truth", pair[0], "--query", pair[1], "--reference", tmp_path / "ref.fa")
    assert result.exit_code == 1
    assert f"reference FASTA not found: {tmp_path / 'ref.fa'}" in result.output


def test_bad_stratum_bed_line_is_named(reference, pair, tmp_path):
    bed = tmp_path / "bad.bed"
    bed.write_text("chrA\t1\t10\nchrA\tten\t20\n")
    result = _run("--truth", pair[0], "--query", pair[1], "--reference", reference, "--strata", f"bad={bed}")
    assert result.exit_code == 1
    assert f"{bed} line 2: expected 'chrom<TAB>start<TAB>end'" in result.output
    malformed = _run("--truth", pair[0], "--query", pair[1], "--reference", reference, "--strata", str(bed))
    assert malformed.exit_code == 2 and "is not NAME=BED" in malformed.output


def test_missing_strata_dir_is_named(reference, pair, tmp_path):
    result = _run(
        "--truth", pair[0], "--query", pair[1], "--reference", reference, "--strata-dir", tmp_path / "no"
    )
    assert result.exit_code == 1
    assert f"strata directory not found: {tmp_path / 'no'}" in result.output


def test_vcf_without_contig_header_lines_is_compared_after_a_warning(reference, pair, tmp_path):
    bare = tmp_path / "bare.vcf"
    lines = subprocess.run(
        ["bcftools", "view", str(pair[1])], capture_output=True, text=True, check=True
    ).stdout
    bare.write_text("".join(line + "\n" for line in lines.splitlines() if not line.startswith("##contig")))
    result = _run("--truth", pair[0], "--query", bare, "--reference", reference)
    assert result.exit_code == 0, result.output
    assert f"warning: query VCF {bare}: declared contig chrA (length 3000, from {reference})" in result.stderr
    assert any(line.split()[:5] == ["all", "SNV", "1", "0", "0"] for line in result.stdout.splitlines())
