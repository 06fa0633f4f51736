"""FASTQ record checks (4-line records), shared by quick mode (first records) and deep mode (all)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from seqpipe.validators.result import MAX_ERRORS, ValidationResult

_BASES = re.compile(r"^[ACGTNacgtnRYKMSWBDHVU.\-]*$")


def check_records(lines: Iterator[str], result: ValidationResult, stop_after: int | None) -> int:
    """Check records from an iterator of lines (without newlines); returns the number of records."""
    records = 0
    line_number = 0
    while stop_after is None or records < stop_after:
        chunk = []
        for _ in range(4):
            line = next(lines, None)
            if line is None:
                break
            line_number += 1
            chunk.append(line.rstrip("\r"))
        if not chunk or (len(chunk) == 1 and chunk[0] == ""):
            break
        records += 1
        first_line = line_number - len(chunk) + 1
        problem = _record_problem(chunk)
        if problem:
            result.error(problem, record=records, line=first_line)
            if len(result.errors) >= MAX_ERRORS:
                result.warn(f"stopped after {MAX_ERRORS} errors")
                break
    result.records = records
    return records


def _record_problem(chunk: list[str]) -> str | None:
    if len(chunk) < 4:
        return f"incomplete record: {len(chunk)} of 4 lines (truncated file?)"
    header, sequence, plus, quality = chunk
    if not header.startswith("@") or len(header) < 2:
        return f"header line must start with '@' and name the read, found {header[:40]!r}"
    if not plus.startswith("+"):
        return f"third line must start with '+', found {plus[:40]!r}"
    if not _BASES.match(sequence):
        return f"sequence has characters outside IUPAC codes: {sequence[:40]!r}"
    if len(sequence) != len(quality):
        return f"sequence length {len(sequence)} differs from quality length {len(quality)}"
    if any(ord(ch) < 33 or ord(ch) > 126 for ch in quality):
        return "quality string has characters outside '!'..'~' (Phred+33)"
    return None
