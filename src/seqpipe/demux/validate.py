"""Sample-sheet validation against the run, before any job starts.

Every finding names the sheet's line and column; all findings are reported together.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from importlib import resources
from itertools import combinations

import jsonschema
import yaml

from seqpipe.demux.errors import Problem, raise_if_any
from seqpipe.demux.readstructure import index_cycles, override_problems
from seqpipe.demux.runinfo import RunInfo
from seqpipe.demux.samplesheet import SampleRow, SampleSheet

# Demultiplexers name the unmatched reads' files so; a sample of that name would be overwritten.
RESERVED_SAMPLE_IDS = frozenset({"undetermined", "unknown", "unmatched"})


@functools.cache
def _row_validator() -> jsonschema.Draft202012Validator:
    text = resources.files("seqpipe.demux").joinpath("samplesheet.schema.yaml").read_text()
    return jsonschema.Draft202012Validator(yaml.safe_load(text))


def used_index(sequence: str) -> str:
    """The part of an index the demultiplexer matches: trailing Ns mark cycles to skip (e.g. TAGGGTTAANNN)."""
    return sequence.rstrip("N")


def hamming(a: str, b: str) -> int:
    """Mismatches over the shared length; N matches anything (it is a wildcard in the sheet and a no-call)."""
    return sum(1 for x, y in zip(a, b, strict=False) if x != y and "N" not in (x, y))


def samples_by_lane(sheet: SampleSheet, run_info: RunInfo) -> dict[int, list[SampleRow]]:
    """A row without a lane belongs to every lane of the run."""
    lanes: dict[int, list[SampleRow]] = defaultdict(list)
    for row in sheet.samples:
        for lane in [row.lane] if row.lane else range(1, run_info.lane_count + 1):
            lanes[lane].append(row)
    return dict(sorted(lanes.items()))


def _schema_problems(sheet: SampleSheet) -> tuple[list[Problem], set[int]]:
    problems, bad_lines = [], set()
    validator = _row_validator()
    for row in sheet.samples:
        for error in validator.iter_errors(row.raw):
            canonical = error.path[0] if error.path else (error.validator_value or ["Sample_ID"])[0]
            column = row.columns.get(canonical, canonical)
            if error.validator == "pattern":
                why = error.schema.get("description", error.message)
            elif error.validator == "not":
                why = error.validator_value.get("description", error.message)
            else:
                why = error.message
            value = row.raw.get(canonical, "")
            problems.append(Problem(sheet.path, f"{value!r}: {why}", row.line, column))
            bad_lines.add(row.line)
        if row.sample_id.lower() in RESERVED_SAMPLE_IDS:
            problems.append(
                Problem(
                    sheet.path, f"{row.sample_id!r} is reserved for unmatched reads", row.line, "Sample_ID"
                )
            )
    return problems, bad_lines


def _lane_and_duplicate_problems(sheet: SampleSheet, run_info: RunInfo) -> list[Problem]:
    problems = []
    earlier: dict[str, list[SampleRow]] = defaultdict(list)
    for row in sheet.samples:
        if row.lane and row.lane > run_info.lane_count:
            problems.append(
                Problem(
                    sheet.path,
                    f"lane {row.lane} but RunInfo.xml has {run_info.lane_count} lane(s)",
                    row.line,
                    row.columns.get("Lane"),
                )
            )
        # The same sample in two lanes is one library sequenced twice; twice in one lane is a mistake.
        clash = next(
            (e for e in earlier[row.sample_id] if not e.lane or not row.lane or e.lane == row.lane), None
        )
        if clash:
            problems.append(
                Problem(
                    sheet.path,
                    f"duplicate sample ID {row.sample_id!r} (also on line {clash.line})"
                    + (f" in lane {row.lane}" if row.lane else ""),
                    row.line,
                    row.columns["Sample_ID"],
                )
            )
        earlier[row.sample_id].append(row)
    return problems


def _override_problems(sheet: SampleSheet, run_info: RunInfo) -> list[Problem]:
    problems = []
    if sheet.override_cycles:
        for why in override_problems(sheet.override_cycles, run_info):
            problems.append(Problem(sheet.path, f"OverrideCycles {why}", None, "OverrideCycles (settings)"))
    for row in sheet.samples:
        if row.override_cycles:
            for why in override_problems(row.override_cycles, run_info):
                problems.append(Problem(sheet.path, why, row.line, row.columns["OverrideCycles"]))
    return problems


def _index_problems(
    sheet: SampleSheet, run_info: RunInfo, lanes: dict[int, list[SampleRow]], mismatches: int
) -> list[Problem]:
    problems = []
    for row in sheet.samples:
        override = row.override_cycles or sheet.override_cycles
        try:
            available = index_cycles(run_info, override)
        except ValueError:
            continue  # reported by the OverrideCycles check
        for number, canonical in enumerate(("index", "index2")):
            sequence = getattr(row, canonical)
            cycles = available[number] if number < len(available) else 0
            if len(sequence) > cycles:
                why = (
                    f"index of {len(sequence)} bases but the run has "
                    + (f"{cycles} index cycles for it" if cycles else "no such index read")
                    + f" ({run_info.path.name}"
                    + (", OverrideCycles)" if override else ")")
                )
                problems.append(Problem(sheet.path, why, row.line, row.columns.get(canonical, canonical)))
    for lane, rows in lanes.items():
        for canonical in ("index", "index2"):
            lengths = defaultdict(list)
            for row in rows:
                lengths[len(used_index(getattr(row, canonical)))].append(row)
            if len(lengths) > 1:
                examples = ", ".join(
                    f"{n} bases ({rs[0].sample_id}, line {rs[0].line})" for n, rs in sorted(lengths.items())
                )
                problems.append(
                    Problem(
                        sheet.path,
                        f"lane {lane}: {canonical} lengths differ within the lane: {examples}",
                        None,
                        rows[0].columns.get(canonical, canonical),
                    )
                )
        minimum = 2 * mismatches + 1
        for a, b in combinations(rows, 2):
            distance = hamming(barcode(a), barcode(b))
            if distance < minimum:
                problems.append(
                    Problem(
                        sheet.path,
                        f"index collision in lane {lane}: samples {a.sample_id!r} (line {a.line}) and "
                        f"{b.sample_id!r} (line {b.line}) have barcodes {barcode(a) or '(none)'} and "
                        f"{barcode(b) or '(none)'} at Hamming distance {distance}; with "
                        f"barcode_mismatches={mismatches} they need a distance of at least {minimum}",
                        b.line,
                        "index/index2",
                    )
                )
    return problems


def barcode(row: SampleRow) -> str:
    return used_index(row.index) + used_index(row.index2)


def validate_sheet(sheet: SampleSheet, run_info: RunInfo, mismatches: int) -> list[Problem]:
    problems, bad_lines = _schema_problems(sheet)
    problems += _lane_and_duplicate_problems(sheet, run_info)
    override = _override_problems(sheet, run_info)
    problems += override
    if not override:
        clean = SampleSheet(
            sheet.path,
            sheet.version,
            tuple(r for r in sheet.samples if r.line not in bad_lines),
            sheet.settings,
            sheet.header,
            sheet.data_header_line,
        )
        problems += _index_problems(clean, run_info, samples_by_lane(clean, run_info), mismatches)
    return problems


def check_sheet(sheet: SampleSheet, run_info: RunInfo, mismatches: int) -> None:
    raise_if_any(validate_sheet(sheet, run_info, mismatches), f"sample sheet {sheet.path} is not valid")
