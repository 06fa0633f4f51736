"""Load and check samples.tsv and units.tsv before any job runs.

Every problem is reported at once, each naming the file, the line and the field, so a
user fixes a sheet in one pass instead of one error per run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from seqpipe.tsv import read_tsv


class SheetError(ValueError):
    """A sample or unit sheet cannot be used; the message lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(["invalid sample sheet:", *(f"  - {p}" for p in problems)]))


@dataclass(frozen=True)
class Sample:
    sample: str
    group: str
    sex: str = "unknown"
    # samples the sheet declares as sharing DNA with this one: not flagged by the identity check
    relatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unit:
    sample: str
    unit: str
    fq1: str
    fq2: str
    platform: str = "ILLUMINA"
    library: str = ""

    @property
    def read_group_id(self) -> str:
        return f"{self.sample}.{self.unit}"

    def read_group(self) -> str:
        """The @RG line bwa writes; duplicates are marked per library (LB)."""
        library = self.library or self.sample
        return (
            f"@RG\\tID:{self.read_group_id}\\tSM:{self.sample}\\tLB:{library}"
            f"\\tPL:{self.platform}\\tPU:{self.unit}"
        )


@dataclass
class Sheets:
    samples: dict[str, Sample] = field(default_factory=dict)
    units: dict[tuple[str, str], Unit] = field(default_factory=dict)

    def units_of(self, sample: str) -> list[Unit]:
        return [u for (s, _), u in self.units.items() if s == sample]

    def groups(self) -> dict[str, list[str]]:
        by_group: dict[str, list[str]] = {}
        for s in self.samples.values():
            by_group.setdefault(s.group, []).append(s.sample)
        return by_group


def _schema_problems(
    name: str, schema: dict[str, Any], header: list[str], rows: list[tuple[int, dict[str, str]]]
) -> list[str]:
    known = set(schema["properties"])
    problems = [
        f"{name}: unknown column '{h}' in the header (allowed: {', '.join(sorted(known))})"
        for h in header
        if h not in known
    ]
    problems += [
        f"{name}: the header lacks the required column '{c}'"
        for c in schema.get("required", [])
        if c not in header
    ]
    if problems:
        return problems
    validator = jsonschema.Draft202012Validator(schema)
    for number, row in rows:
        for error in validator.iter_errors(row):
            field_name = error.path[0] if error.path else _missing_field(error)
            described = schema["properties"].get(field_name, {}).get("description", "")
            hint = f" ({described})" if described else ""
            problems.append(f"{name} line {number}, field '{field_name}': {_plain(error)}{hint}")
    return problems


def _missing_field(error: jsonschema.ValidationError) -> str:
    if error.validator == "required":
        return str(error.message).split("'")[1]
    return "?"


def _plain(error: jsonschema.ValidationError) -> str:
    if error.validator == "pattern":
        return f"'{error.instance}' has characters that are not allowed"
    if error.validator == "enum":
        return f"'{error.instance}' is not one of {', '.join(map(str, error.validator_value))}"
    if error.validator == "required":
        return "is empty or missing"
    if error.validator == "not":
        return f"'{error.instance}' is reserved: it is a folder name of the pipeline's outputs"
    return str(error.message)


def _duplicates(keys: Iterable[tuple[int, Any]]) -> list[tuple[int, int, Any]]:
    first: dict[Any, int] = {}
    found = []
    for number, key in keys:
        if key in first:
            found.append((first[key], number, key))
        else:
            first[key] = number
    return found


def load_sheets(
    samples_tsv: str | Path,
    units_tsv: str | Path,
    schema_dir: str | Path,
    base_dir: str | Path = ".",
    check_files: bool = True,
) -> Sheets:
    """Read both sheets, check them against the schemas and each other, and check the FASTQs exist.

    Relative FASTQ paths are taken relative to ``base_dir`` (the workflow's working directory).
    """
    samples_path, units_path = Path(samples_tsv), Path(units_tsv)
    schema_dir, base = Path(schema_dir), Path(base_dir)
    problems: list[str] = []
    for path in (samples_path, units_path):
        if not path.is_file():
            problems.append(f"{path}: file not found")
    if problems:
        raise SheetError(problems)

    s_header, s_rows = read_tsv(samples_path)
    u_header, u_rows = read_tsv(units_path)
    for path, rows in ((samples_path, s_rows), (units_path, u_rows)):
        if not rows:
            problems.append(f"{path}: no rows below the header")
    problems += _schema_problems(
        str(samples_path), _load_schema(schema_dir / "samples.schema.yaml"), s_header, s_rows
    )
    problems += _schema_problems(
        str(units_path), _load_schema(schema_dir / "units.schema.yaml"), u_header, u_rows
    )
    if problems:
        raise SheetError(problems)

    for first, again, name in _duplicates((n, r["sample"]) for n, r in s_rows):
        problems.append(f"{samples_path} line {again}, field 'sample': '{name}' is already on line {first}")
    for first, again, (sample, unit) in _duplicates((n, (r["sample"], r["unit"])) for n, r in u_rows):
        problems.append(
            f"{units_path} line {again}, field 'unit': unit '{unit}' of sample '{sample}' "
            f"is already on line {first}"
        )
    names = {r["sample"] for _, r in s_rows}
    with_units = {r["sample"] for _, r in u_rows}
    for number, row in u_rows:
        if row["sample"] not in names:
            problems.append(
                f"{units_path} line {number}, field 'sample': '{row['sample']}' is not in {samples_path}"
            )
        for key in ("fq1", "fq2"):
            # with S3 storage the FASTQs are objects, not local files (Snakemake checks those)
            if check_files and not (base / row[key]).is_file():
                problems.append(f"{units_path} line {number}, field '{key}': file not found: {row[key]}")
        if row["fq1"] == row["fq2"]:
            problems.append(f"{units_path} line {number}, field 'fq2': the same file as fq1")
    for number, row in s_rows:
        for relative in row.get("relatives", "").split(",") if "relatives" in row else ():
            if relative not in names or relative == row["sample"]:
                problems.append(
                    f"{samples_path} line {number}, field 'relatives': '{relative}' is not another sample "
                    f"of {samples_path}"
                )
        if row["sample"] not in with_units:
            problems.append(
                f"{samples_path} line {number}, field 'sample': '{row['sample']}' has no unit in {units_path}"
            )
    if problems:
        raise SheetError(problems)

    sheets = Sheets()
    for _, row in s_rows:
        sheets.samples[row["sample"]] = Sample(
            row["sample"],
            row.get("group", row["sample"]),
            row.get("sex", "unknown"),
            tuple(row["relatives"].split(",")) if "relatives" in row else (),
        )
    for _, row in u_rows:
        unit = Unit(**row)
        sheets.units[(unit.sample, unit.unit)] = unit
    return sheets


def sheets_from_records(samples: list[dict[str, str]], units: list[dict[str, str]]) -> Sheets:
    """Sheets built by code (e.g. from an Illumina sample sheet) rather than read from TSV files."""
    sheets = Sheets()
    for row in samples:
        sheets.samples[row["sample"]] = Sample(
            row["sample"], row.get("group") or row["sample"], row.get("sex") or "unknown"
        )
    for row in units:
        unit = Unit(**{k: v for k, v in row.items() if v not in (None, "")})
        sheets.units[(unit.sample, unit.unit)] = unit
    return sheets


def _load_schema(path: Path) -> dict[str, Any]:
    with path.open() as fh:
        return yaml.safe_load(fh)
