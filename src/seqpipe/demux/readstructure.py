"""Which cycles are template, index, UMI or skipped: OverrideCycles and Picard's READ_STRUCTURE."""

from __future__ import annotations

import re

from seqpipe.demux.runinfo import RunInfo

_SEGMENT = re.compile(r"([YINU])(\d+)")
# OverrideCycles letters -> Picard read-structure operators (T template, B barcode, S skip, M molecular).
_PICARD_OPERATOR = {"Y": "T", "I": "B", "N": "S", "U": "M"}


def parse_override_cycles(text: str) -> list[list[tuple[str, int]]]:
    reads = []
    for part in text.split(";"):
        segments = [(kind, int(n)) for kind, n in _SEGMENT.findall(part)]
        if not segments or "".join(f"{k}{n}" for k, n in segments) != part:
            raise ValueError(f"cannot parse {part!r} (segments look like Y151, I8, N2, U8Y143)")
        reads.append(segments)
    return reads


def override_problems(text: str, run_info: RunInfo) -> list[str]:
    """Why OverrideCycles does not fit the run's reads (empty when it does)."""
    try:
        reads = parse_override_cycles(text)
    except ValueError as exc:
        return [str(exc)]
    if len(reads) != len(run_info.reads):
        return [f"{text!r} has {len(reads)} reads but RunInfo.xml has {len(run_info.reads)}"]
    problems = []
    for read, segments in zip(run_info.reads, reads, strict=True):
        cycles = sum(n for _, n in segments)
        kinds = {k for k, _ in segments}
        if cycles != read.cycles:
            problems.append(f"read {read.number} covers {cycles} cycles but RunInfo.xml has {read.cycles}")
        if read.is_index and "Y" in kinds:
            problems.append(f"read {read.number} is an index read in RunInfo.xml but has template cycles (Y)")
        if not read.is_index and "I" in kinds:
            problems.append(f"read {read.number} is a template read in RunInfo.xml but has index cycles (I)")
    return problems


def index_cycles(run_info: RunInfo, override: str) -> list[int]:
    """Cycles available to each index read (Index1, Index2), after OverrideCycles masks."""
    if override:
        reads = parse_override_cycles(override)
        return [
            sum(n for kind, n in segments if kind == "I")
            for read, segments in zip(run_info.reads, reads, strict=True)
            if read.is_index
        ]
    return [read.cycles for read in run_info.index_reads]


def picard_read_structure(run_info: RunInfo, override: str, barcode_lengths: list[int]) -> str:
    """READ_STRUCTURE of a lane: barcode cycles as long as the used index, the rest of the read skipped."""
    if override:
        return "".join(
            f"{n}{_PICARD_OPERATOR[kind]}"
            for segments in parse_override_cycles(override)
            for kind, n in segments
        )
    parts = []
    index_number = 0
    for read in run_info.reads:
        if not read.is_index:
            parts.append(f"{read.cycles}T")
            continue
        used = barcode_lengths[index_number] if index_number < len(barcode_lengths) else 0
        index_number += 1
        parts.append(f"{used}B" if used else "")
        if read.cycles > used:
            parts.append(f"{read.cycles - used}S")
    return "".join(parts)
