"""Sample and unit sheets: every bad-sheet case stops with a message naming the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqpipe.sheets import SheetError, load_sheets

from .conftest import REPO, fake_config, snakemake

SCHEMAS = REPO / "config" / "schemas"


def _sheets(tmp_path: Path, samples: str, units: str) -> tuple[Path, Path]:
    for name in ("a_R1.fq.gz", "a_R2.fq.gz", "b_R1.fq.gz", "b_R2.fq.gz"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "samples.tsv").write_text(samples)
    (tmp_path / "units.tsv").write_text(units)
    return tmp_path / "samples.tsv", tmp_path / "units.tsv"


GOOD_SAMPLES = "sample\tgroup\tsex\nS1\tfam\tfemale\nS2\tfam\tmale\n"
GOOD_UNITS = "sample\tunit\tfq1\tfq2\nS1\tL1\ta_R1.fq.gz\ta_R2.fq.gz\nS2\tL1\tb_R1.fq.gz\tb_R2.fq.gz\n"


def _problems(tmp_path: Path, samples: str = GOOD_SAMPLES, units: str = GOOD_UNITS) -> str:
    s, u = _sheets(tmp_path, samples, units)
    with pytest.raises(SheetError) as caught:
        load_sheets(s, u, SCHEMAS, base_dir=tmp_path)
    return str(caught.value)


def test_good_sheets_give_samples_units_and_read_groups(tmp_path: Path) -> None:
    s, u = _sheets(tmp_path, GOOD_SAMPLES, GOOD_UNITS)
    sheets = load_sheets(s, u, SCHEMAS, base_dir=tmp_path)
    assert sorted(sheets.samples) == ["S1", "S2"]
    assert sheets.groups() == {"fam": ["S1", "S2"]}
    unit = sheets.units[("S1", "L1")]
    assert unit.read_group() == "@RG\\tID:S1.L1\\tSM:S1\\tLB:S1\\tPL:ILLUMINA\\tPU:L1"


def test_missing_fastq_is_named_with_line_and_field(tmp_path: Path) -> None:
    units = GOOD_UNITS.replace("b_R2.fq.gz", "missing_R2.fq.gz")
    assert "units.tsv line 3, field 'fq2': file not found: missing_R2.fq.gz" in _problems(
        tmp_path, units=units
    )


def test_duplicate_unit_names_both_lines(tmp_path: Path) -> None:
    units = GOOD_UNITS + "S1\tL1\tb_R1.fq.gz\tb_R2.fq.gz\n"
    assert "units.tsv line 4, field 'unit': unit 'L1' of sample 'S1' is already on line 2" in _problems(
        tmp_path, units=units
    )


def test_duplicate_sample_is_refused(tmp_path: Path) -> None:
    samples = GOOD_SAMPLES + "S1\tfam\tfemale\n"
    assert "samples.tsv line 4, field 'sample': 'S1' is already on line 2" in _problems(
        tmp_path, samples=samples
    )


def test_unit_of_unknown_sample_is_refused(tmp_path: Path) -> None:
    units = GOOD_UNITS.replace("S2\tL1", "S3\tL1")
    message = _problems(tmp_path, units=units)
    assert "units.tsv line 3, field 'sample': 'S3' is not in" in message
    assert "field 'sample': 'S2' has no unit" in message


def test_wrong_header_names_the_column(tmp_path: Path) -> None:
    units = GOOD_UNITS.replace("fq1", "read1", 1)
    message = _problems(tmp_path, units=units)
    assert "unknown column 'read1' in the header" in message
    assert "the header lacks the required column 'fq1'" in message


def test_bad_values_name_field_and_allowed_values(tmp_path: Path) -> None:
    samples = "sample\tgroup\tsex\nS1\tfam\tF\nS 2\tfam\tmale\n"
    units = GOOD_UNITS.replace("S2", "S 2")
    message = _problems(tmp_path, samples=samples, units=units)
    assert "samples.tsv line 2, field 'sex': 'F' is not one of female, male, unknown" in message
    assert "samples.tsv line 3, field 'sample': 'S 2' has characters that are not allowed" in message


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    units = GOOD_UNITS.replace("a_R1", "x_R1").replace("b_R2", "y_R2")
    assert _problems(tmp_path, units=units).count("file not found") == 2


def test_bad_sheet_stops_the_workflow_before_any_job(tmp_path: Path, fake_inputs: dict[str, Path]) -> None:
    units = fake_inputs["units"].read_text().replace("B\tL2", "B\tL1")
    fake_inputs["units"].write_text(units)
    config = fake_config(
        tmp_path,
        fake_inputs,
        outdir=str(tmp_path / "out"),
    )
    result = snakemake("--configfile", str(config), "--cores", "1", workdir=tmp_path)
    assert result.returncode != 0
    assert "field 'unit': unit 'L1' of sample 'B' is already on line 4" in result.stdout + result.stderr
    assert not (tmp_path / "out").exists()


def test_config_with_bad_value_is_refused_with_the_key(tmp_path: Path, fake_inputs: dict[str, Path]) -> None:
    config = fake_config(
        tmp_path,
        fake_inputs,
        calling={"callers": ["bcftools", "varscan"]},
    )
    result = snakemake("--configfile", str(config), "-n", workdir=tmp_path)
    assert result.returncode != 0
    assert "varscan" in result.stdout and "callers" in result.stdout
