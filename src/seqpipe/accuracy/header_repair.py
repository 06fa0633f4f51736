"""Header repairs for public truth VCFs: undeclared contigs and INFO/FORMAT/FILTER tags get declared.

bcftools 1.16 refuses to write records whose contig or tags the header does not declare ("Undefined tags
in the header, cannot proceed"), and releases such as GIAB's older NA12878 files lack contig lines or use
INFO tags they never declared. Every repair is a header line added to a copy (records are copied as they
are) and is named in a warning; a line that cannot be read stops with the file and line number.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from seqpipe.accuracy.calls import AccuracyInputError

_KINDS = ("contig", "INFO", "FORMAT", "FILTER")
_DECLARED = re.compile(r"^##(contig|INFO|FORMAT|FILTER)=<ID=([^,>]+)")
_ADDED = "Not declared in the original header; declared by seqpipe accuracy"
# GT is a reserved key: declared as the VCF specification defines it, not as an unknown tag.
_GT = '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">'
# Without the first line htslib cannot tell the VCF version and stops.
_DEFAULT_FILEFORMAT = "##fileformat=VCFv4.2"


@dataclass
class _Scan:
    fileformat: bool = False
    declared: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in _KINDS})
    # Tag -> first record line that uses it, so a warning can point at an example.
    used: dict[str, dict[str, int]] = field(default_factory=lambda: {k: {} for k in _KINDS})
    info_with_value: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Repaired:
    """The VCF to read (the original when nothing needed repair) and one message per repair."""

    path: Path
    repairs: list[str]


def _is_text(path: Path) -> bool:
    """False for BCF (whose header htslib always completes) and for files bcftools will reject itself."""
    try:
        with _text(path) as stream:
            return stream.read(3) != "BCF"
    except (UnicodeDecodeError, OSError, EOFError):
        return False


def _text(path: Path) -> IO[str]:
    with path.open("rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt") if compressed else path.open()


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with _text(path) as stream:
        for number, line in enumerate(stream, start=1):
            yield number, line.rstrip("\n").rstrip("\r")


def _scan_record(scan: _Scan, number: int, line: str, unreadable: str) -> None:
    fields = line.split("\t")
    if len(fields) < 8:
        raise AccuracyInputError(
            f"{unreadable}: line {number}: expected at least 8 tab-separated columns, got {len(fields)}"
        )
    chrom, pos, _id, _ref, _alt, _qual, filters, info, *rest = fields
    if not pos.isdigit():
        raise AccuracyInputError(f"{unreadable}: line {number}: POS {pos!r} is not a position")
    tags: dict[str, list[str]] = {
        "contig": [chrom],
        "FILTER": [] if filters in (".", "PASS") else filters.split(";"),
        "INFO": [] if info == "." else [item.partition("=")[0] for item in info.split(";") if item],
        "FORMAT": rest[0].split(":") if rest and rest[0] != "." else [],
    }
    for kind, names in tags.items():
        for name in names:
            scan.used[kind].setdefault(name, number)
    scan.info_with_value.update(item.partition("=")[0] for item in info.split(";") if "=" in item)


def _scan(lines: Iterator[tuple[int, str]], unreadable: str) -> _Scan:
    scan = _Scan()
    columns_seen = False
    for number, line in lines:
        if not line:
            continue
        if line.startswith("##"):
            if number == 1 and line.startswith("##fileformat="):
                scan.fileformat = True
            declared = _DECLARED.match(line)
            if declared:
                scan.declared[declared[1]].add(declared[2])
            elif line.startswith(tuple(f"##{kind}=" for kind in _KINDS)):
                raise AccuracyInputError(
                    f"{unreadable}: line {number}: header line without <ID=...>: {line[:80]}"
                )
        elif line.startswith("#CHROM"):
            columns_seen = True
        elif not columns_seen:
            raise AccuracyInputError(f"{unreadable}: line {number}: record before the #CHROM header line")
        else:
            _scan_record(scan, number, line, unreadable)
    if not columns_seen:
        raise AccuracyInputError(f"{unreadable}: no #CHROM header line")
    return scan


def _declarations(scan: _Scan, contigs: dict[str, int], reference: Path) -> list[tuple[str, str]]:
    """(header line, warning) for each undeclared contig and tag, in the order the kinds are listed."""
    added = []
    for kind in _KINDS:
        for name, first in scan.used[kind].items():
            if name in scan.declared[kind]:
                continue
            if kind == "contig":
                if name in contigs:  # one the reference lacks is refused by check_vcf
                    line = f"##contig=<ID={name},length={contigs[name]}>"
                    added.append((line, f"declared contig {name} (length {contigs[name]}, from {reference})"))
                continue
            if kind == "FILTER":
                line = f'##FILTER=<ID={name},Description="{_ADDED}">'
            elif kind == "FORMAT" and name == "GT":
                line = _GT
            elif kind == "INFO" and name not in scan.info_with_value:
                line = f'##INFO=<ID={name},Number=0,Type=Flag,Description="{_ADDED}">'
            else:
                line = f'##{kind}=<ID={name},Number=.,Type=String,Description="{_ADDED}">'
            added.append((line, f"declared {kind} tag {name} (first used on line {first}) as {line[2:]}"))
    return added


def repair_header(path: Path, role: str, contigs: dict[str, int], reference: Path, workdir: Path) -> Repaired:
    """Declare what the records of `path` use but its header does not; the copy goes into `workdir`."""
    where = f"{role} VCF {path}"
    if not _is_text(path):
        return Repaired(path, [])
    scan = _scan(_lines(path), f"{where} is not a readable VCF/BCF")
    declarations = _declarations(scan, contigs, reference)
    repairs = [message for _, message in declarations]
    if not scan.fileformat:
        repairs.insert(0, f"added the missing first line {_DEFAULT_FILEFORMAT}")
    if not repairs:
        return Repaired(path, [])
    copy = workdir / f"{role}.repaired.vcf"
    with copy.open("w") as out:
        if not scan.fileformat:
            out.write(_DEFAULT_FILEFORMAT + "\n")
        for _, line in _lines(path):
            if line.startswith("#CHROM"):
                out.writelines(f"{header}\n" for header, _ in declarations)
            out.write(line + "\n")
    return Repaired(copy, [f"{where}: {message}" for message in repairs])
