"""Validators on real files: the copies in tests/dataplane/data, the shared conformance suites, S3."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from seqpipe.validators import validate
from seqpipe.validators.quick import QUICK_READ_LIMIT

DATA = Path(__file__).resolve().parent / "data"


def tabix_indexed(folder: Path) -> str:
    """A copy of NA12891.vcf.gz with its .tbi beside it, made by htslib (pysam)."""
    import pysam

    copy = folder / "NA12891.vcf.gz"
    shutil.copy(DATA / "NA12891.vcf.gz", copy)
    pysam.tabix_index(str(copy), preset="vcf", force=True)
    return str(copy)


def errors(result) -> list[str]:
    return [e.message for e in result.errors]


@pytest.mark.parametrize("deep", [False, True])
def test_valid_bam_reports_its_header(deep):
    result = validate(DATA / "ok.bam", deep=deep)
    assert result.valid and result.format == "BAM"
    assert result.header.contigs == ["insert", "ref1", "ref2", "ref3"]
    assert result.records == (40 if deep else None)


def test_bam_without_eof_block_is_invalid_at_its_end():
    result = validate(DATA / "badeof.bam")
    assert not result.valid
    assert result.errors[0].message.startswith("BGZF EOF block missing") and result.errors[0].offset == 1228


def test_corrupt_bgzf_block_is_located_by_byte_offset():
    result = validate(DATA / "defective_bgzf.bam")
    assert not result.valid
    assert any(e.offset == 354 and "bad magic" in e.message for e in result.errors)


def test_cram_header_summary_has_samples_and_reference_md5s():
    result = validate(DATA / "ok.cram")
    assert result.valid and result.format == "CRAM" and result.header.version == "3.0"
    assert result.header.samples == ["HG00100"]
    assert result.header.reference_md5s == {"17": "a9a06ca09c111789d92723fbf39820f6"}


def test_truncated_cram_fails_quick_and_deep_without_the_reference():
    assert errors(validate(DATA / "truncated.cram"))[0].startswith("CRAM EOF container missing")
    deep = validate(DATA / "truncated.cram", deep=True)
    assert "the last container is not the EOF container (truncated)" in errors(deep)


def test_deep_cram_without_reference_checks_structure_and_warns():
    result = validate(DATA / "ok.cram", deep=True)
    assert result.valid and result.header.details["containers"] >= 2
    assert any("records not decoded without the reference" in w.message for w in result.warnings)


@pytest.mark.parametrize("name", ["NA12891.vcf", "NA12891.vcf.gz"])
def test_valid_vcf_reports_samples_and_contigs(name):
    result = validate(DATA / name, deep=True)
    assert result.valid and result.records == 3
    assert result.header.samples == ["NA12891"] and result.header.contigs[:3] == ["1", "2", "3"]


def test_truncated_vcf_gz_is_invalid():
    result = validate(DATA / "vcfexample.vcf.truncated.gz")
    assert not result.valid and result.format.startswith("VCF")
    assert any(m.startswith("BGZF EOF block missing") for m in errors(result))


def test_fastq_gz_deep_counts_records():
    result = validate(DATA / "reads_R1.fastq.gz", deep=True)
    assert result.valid and result.format == "FASTQ.gz" and result.records == 100


def test_malformed_fastq_record_is_located_by_record_and_line(tmp_path):
    with gzip.open(DATA / "reads_R1.fastq.gz", "rt") as fh:
        lines = fh.read().splitlines()[:12]
    lines[11] = lines[11][:-5]  # third record: quality shorter than sequence
    path = tmp_path / "bad.fastq"
    path.write_text("\n".join(lines) + "\n")
    for deep in (False, True):
        result = validate(path, deep=deep)
        assert not result.valid
        assert (result.errors[0].record, result.errors[0].line) == (3, 9)
        assert "differs from quality length" in result.errors[0].message


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage" * 100, b"\x1f\x8b\x08\x04broken gzip"])
def test_garbage_gives_a_result_not_an_exception(tmp_path, content):
    path = tmp_path / "mystery.bin"
    path.write_bytes(content)
    for deep in (False, True):
        result = validate(path, deep=deep)
        assert not result.valid and result.errors


def test_missing_file_is_reported():
    assert errors(validate("/nonexistent/x.bam")) == ["no such file"]


def test_complete_run_folder_is_valid(tmp_path, make_run_folder):
    result = validate(make_run_folder(tmp_path, 5, complete=True), deep=True)
    assert result.valid and result.format == "BCL"
    assert result.header.details["cycles"] == 5 and result.header.details["reads"] == ["3r", "2i"]


def test_incomplete_run_folder_names_what_is_missing(tmp_path, make_run_folder):
    result = validate(make_run_folder(tmp_path, 3, complete=False))
    assert errors(result) == [
        "RTAComplete.txt missing: the instrument has not finished writing the run",
        "Data/Intensities/BaseCalls/L001: 2 of 5 cycle folders missing (C4, 5)",
    ]


@pytest.mark.aws
def test_quick_validation_on_s3_reads_a_bounded_range_and_finds_the_index(aws, tmp_path):
    s3 = aws("s3")
    s3.create_bucket(Bucket="raw")
    s3.upload_file(str(DATA / "NA12891.vcf.gz"), "raw", "P1/R1/S1/x.vcf.gz")
    s3.upload_file(tabix_indexed(tmp_path) + ".tbi", "raw", "P1/R1/S1/x.vcf.gz.tbi")

    result = validate("s3://raw/P1/R1/S1/x.vcf.gz")
    local = validate(DATA / "NA12891.vcf.gz")

    assert result.valid and result.index == "s3://raw/P1/R1/S1/x.vcf.gz.tbi"
    assert result.header == local.header
    assert result.bytes_read <= QUICK_READ_LIMIT
    deep = validate("s3://raw/P1/R1/S1/x.vcf.gz", deep=True)
    assert deep.valid and deep.records == 3


def test_cli_validate_exit_codes_and_json():
    seqpipe = Path(sys.executable).with_name("seqpipe")
    ok = subprocess.run([seqpipe, "validate", "--json", DATA / "ok.bam"], capture_output=True, text=True)
    bad = subprocess.run([seqpipe, "validate", DATA / "badeof.bam"], capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)[0]["header"]["contigs"][0] == "insert"
    assert bad.returncode == 1 and "BGZF EOF block missing" in bad.stdout


# ---- the shared conformance suites and malformed files ------------------------------------------


# The hts-specs conformance suites: tests/validators/test_conformance.py


def test_real_world_vcfs_of_older_versions_stay_valid_with_warnings(shared_testdata):
    giab = shared_testdata / "freebayes-na12878-tiny" / "NA12878.chr22.tiny.giab.vcf"
    result = validate(giab, deep=True)
    assert result.valid and any("is not an Integer" in w.message for w in result.warnings)


def test_vcf_43_reserved_key_redefined_is_an_error_but_a_warning_in_42(tmp_path):
    body = (
        '##FORMAT=<ID=GQ,Number=1,Type=Float,Description="Genotype quality">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
        "1\t10\t.\tA\tG\t50\tPASS\t.\tGT:GQ\t0/1:30.5\n"
    )
    for version, valid in (("4.3", False), ("4.2", True)):
        path = tmp_path / f"v{version}.vcf"
        path.write_text(f"##fileformat=VCFv{version}\n##contig=<ID=1,length=100>\n" + body)
        result = validate(path, deep=True)
        assert result.valid is valid
        assert any("GQ is reserved as Number=1, Type=Integer" in i.message for i in result.issues)


def test_quick_mode_agrees_with_samtools_quickcheck(shared_testdata):
    folder = shared_testdata / "validators" / "samtools-quickcheck"
    expected_failures = set((folder / "all.expected").read_text().split())
    for path in sorted(folder.glob("*.*am")):
        valid = validate(path).valid
        # quickcheck also fails a BAM without @SQ lines ("no targets"); that file is otherwise sound
        should_pass = path.name not in expected_failures or "notargets" in path.name
        assert valid == should_pass, path.name


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("valid.sam", True),
        ("duplicate_rg.sam", False),  # samtools reads it; the specification and Picard forbid it
        ("hanging_tab.sam", True),
        ("truncated_quals.sam", False),
        ("seq_qual_len_mismatch.sam", False),
        ("truncated_tag.sam", False),
        ("missing_fields.sam", False),
        ("zero_length_read.sam", False),
        ("buggyHeader.sam", False),
        ("truncated.bam", False),
    ],
)
def test_htsjdk_malformed_alignment_files_are_rejected(shared_testdata, name, valid):
    result = validate(shared_testdata / "validators" / "htsjdk" / "ValidateSamFileTest" / name, deep=True)
    assert result.valid == valid, [str(e) for e in result.errors]


def test_real_miseq_run_folder_is_valid(shared_testdata):
    run = shared_testdata / "bcl-miseq-illumina2bam" / "140624_MS6_13349_A_MS2639979-300V2"
    result = validate(run, deep=True)
    assert result.valid and result.header.details["cycles"] == 170


def test_reference_based_cram_decodes_with_the_reference(shared_testdata):
    folder = shared_testdata / "validators" / "samtools-quickcheck"
    result = validate(
        folder / "7.quickcheck.cram30.ok.cram", deep=True, reference=str(folder / "mpileup.ref.fa")
    )
    assert result.valid and result.records == 569
    assert [w.message for w in result.warnings] == ["no index found (.crai): random access unavailable"]
