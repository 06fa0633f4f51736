"""The one reader of tab-separated files with a header line (sheets, verdicts, demultiplexing counts).

Rows keep their line number, so a caller's error names the file, the line and the field. Blank lines
and '#' comment lines are skipped; cells are stripped, and an empty cell is left out of its row, so
a column a row leaves empty reads the same as a column the file lacks.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

Row = dict[str, str]


class TsvError(ValueError):
    """A table lacks what its reader needs; the message names the file."""


def read_tsv(path: str | Path, required: Sequence[str] = ()) -> tuple[list[str], list[tuple[int, Row]]]:
    """Header and (line number, row) pairs; TsvError when the header lacks a `required` column."""
    with Path(path).open(newline="") as fh:
        lines = [(n, line) for n, line in enumerate(fh, start=1) if line.strip() and not line.startswith("#")]
    if not lines:
        header: list[str] = []
        rows: list[tuple[int, Row]] = []
    else:
        reader = csv.reader((line for _, line in lines), delimiter="\t")
        header = [h.strip() for h in next(reader)]
        rows = [
            (number, {h: v.strip() for h, v in zip(header, values, strict=False) if v.strip()})
            for (number, _), values in zip(lines[1:], reader, strict=True)
        ]
    missing = [c for c in required if c not in header]
    if missing:
        raise TsvError(f"{path}: the header lacks the column(s) {', '.join(missing)}")
    return header, rows


def read_rows(path: str | Path, required: Sequence[str] = ()) -> list[Row]:
    """The rows alone, for tables whose own reader reports no line numbers."""
    return [row for _, row in read_tsv(path, required)[1]]
