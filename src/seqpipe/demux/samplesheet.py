"""Sample sheets as labs write them: IEM/bcl2fastq v1, BCL Convert v2 and plain barcode tables.

Parsing is lenient about the file (gzip, BOM, any line ending, padding commas, blank lines) and keeps
each row's line number, so validation (`seqpipe.demux.validate`) can point at the exact line and field.
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

from seqpipe.demux.errors import DemuxError

# Column names seen in the wild, lower-cased, mapped to the canonical name used by the validator.
_COLUMN_ALIASES: dict[str, str] = {
    "sample_id": "Sample_ID",
    "sampleid": "Sample_ID",
    "sample": "Sample_ID",
    "sample_name": "Sample_Name",
    "lane": "Lane",
    "index": "index",
    "index1": "index",
    "barcode_1": "index",
    "index2": "index2",
    "barcode_2": "index2",
    "sample_project": "Sample_Project",
    "sampleproject": "Sample_Project",
    "project": "Sample_Project",
    "overridecycles": "OverrideCycles",
}
_DATA_SECTIONS = ("bclconvert_data", "data")
_SETTINGS_SECTIONS = ("bclconvert_settings", "settings")
_SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]")


@dataclass(frozen=True)
class SampleRow:
    line: int
    sample_id: str
    lane: int | None  # None: the sample is in every lane
    index: str
    index2: str
    project: str
    override_cycles: str
    # Canonical field name -> the sheet's own column name, for messages.
    columns: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    raw: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class SampleSheet:
    path: Path
    version: int  # 1: IEM/bcl2fastq, 2: BCL Convert, 0: a plain table without sections
    samples: tuple[SampleRow, ...]
    settings: dict[str, str]
    header: dict[str, str]
    data_header_line: int

    @property
    def override_cycles(self) -> str:
        return self.settings.get("OverrideCycles", "")


def read_lines(path: Path) -> list[str]:
    """Text lines of a sheet however it was saved (gzip, UTF-8 BOM, Latin-1, CR/CRLF/LF)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DemuxError(f"{path}: cannot read the sample sheet ({exc.strerror})") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DemuxError(f"{path}: gzip-compressed but unreadable ({exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _split(line: str, delimiter: str) -> list[str]:
    fields = next(csv.reader([line], delimiter=delimiter), [])
    fields = [f.strip() for f in fields]
    while fields and fields[-1] == "":
        fields.pop()  # IEM pads every line with commas up to the widest section
    return fields


def _sections(lines: list[str]) -> dict[str, tuple[int, list[str]]]:
    """Section name (lower case) -> (line number of its first content line, its lines)."""
    sections: dict[str, tuple[int, list[str]]] = {}
    current: str | None = None
    for number, line in enumerate(lines, start=1):
        match = _SECTION.match(line.strip())
        if match:
            current = match["name"].strip().lower()
            sections[current] = (number + 1, [])
        elif current is not None:
            sections[current][1].append(line)
    return sections


def _key_values(lines: list[str]) -> dict[str, str]:
    pairs = {}
    for line in lines:
        fields = _split(line, ",")
        if fields and fields[0]:
            pairs[fields[0]] = fields[1] if len(fields) > 1 else ""
    return pairs


def _rows(path: Path, first_line: int, lines: list[str], delimiter: str) -> tuple[int, list[SampleRow]]:
    numbered = [(first_line + i, line) for i, line in enumerate(lines) if _split(line, delimiter)]
    if not numbered:
        raise DemuxError(f"{path}: the sample table is empty (no header row)")
    header_line, header_text = numbered[0]
    header = _split(header_text, delimiter)
    columns = {}
    for name in header:
        canonical = _COLUMN_ALIASES.get(name.lower())
        if canonical and canonical not in columns:
            columns[canonical] = name
    if "Sample_ID" not in columns:
        raise DemuxError(
            f"{path}, line {header_line}: no sample column in the table header "
            f"(expected Sample_ID; found {', '.join(header)})"
        )
    rows = []
    for number, text in numbered[1:]:
        fields = _split(text, delimiter)
        if len(fields) > len(header):
            raise DemuxError(
                f"{path}, line {number}: {len(fields)} fields but the header (line {header_line}) has "
                f"{len(header)}; quote values that contain '{delimiter}'"
            )
        raw = dict(zip(header, fields + [""] * (len(header) - len(fields)), strict=True))

        def get(canonical: str, raw: dict[str, str] = raw) -> str:
            return raw.get(columns.get(canonical, ""), "")

        lane_text = get("Lane")
        rows.append(
            SampleRow(
                line=number,
                sample_id=get("Sample_ID"),
                lane=int(lane_text) if lane_text.isdigit() else None,
                index=get("index").upper(),
                index2=get("index2").upper(),
                project=get("Sample_Project"),
                override_cycles=get("OverrideCycles"),
                columns=columns,
                # Indexes are matched case-insensitively; everything else is validated as written.
                raw={c: get(c).upper() if c in ("index", "index2") else get(c) for c in columns},
            )
        )
    return header_line, rows


def parse_sample_sheet(path: Path | str) -> SampleSheet:
    path = Path(path)
    lines = read_lines(path)
    sections = _sections(lines)
    data_section = next((name for name in _DATA_SECTIONS if name in sections), None)
    if data_section is None:
        if any(name in sections for name in ("header", "reads", "settings")):
            raise DemuxError(f"{path}: no [Data] or [BCLConvert_Data] section")
        # A plain table (bcl2fastq 1.8 HiSeq sheet, or a barcode TSV): tabs win if the header has them.
        first = next((line for line in lines if line.strip()), "")
        delimiter = "\t" if "\t" in first else ","
        header_line, rows = _rows(path, 1, lines, delimiter)
        return SampleSheet(path, 0, tuple(rows), {}, {}, header_line)
    header = _key_values(sections.get("header", (0, []))[1])
    settings_section = next((name for name in _SETTINGS_SECTIONS if name in sections), None)
    settings = _key_values(sections[settings_section][1]) if settings_section else {}
    version = 2 if data_section == "bclconvert_data" or header.get("FileFormatVersion") == "2" else 1
    first_line, data_lines = sections[data_section]
    header_line, rows = _rows(path, first_line, data_lines, ",")
    return SampleSheet(path, version, tuple(rows), settings, header, header_line)
