"""Region lists (BED convention: contig, 0-based start, end) and their BED files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

Region = tuple[str, int, int]


def read_bed(path: str | Path) -> list[Region]:
    return [
        (f[0], int(f[1]), int(f[2]))
        for f in (line.split("\t") for line in Path(path).read_text().splitlines())
        if len(f) >= 3
    ]


def write_bed(path: str | Path, regions: Sequence[Region]) -> None:
    Path(path).write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in regions))


def intersect(regions: Sequence[Region], keep: Sequence[Region]) -> list[Region]:
    return [
        (chrom, max(start, s), min(end, e))
        for chrom, start, end in regions
        for c, s, e in keep
        if c == chrom and max(start, s) < min(end, e)
    ]


def subtract(regions: Sequence[Region], cut: Sequence[Region]) -> list[Region]:
    out = []
    for chrom, start, end in regions:
        for c, s, e in sorted(cut):
            if c != chrom or e <= start or s >= end:
                continue
            if s > start:
                out.append((chrom, start, s))
            start = max(start, e)
        if start < end:
            out.append((chrom, start, end))
    return out
