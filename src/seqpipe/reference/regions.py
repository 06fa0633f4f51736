"""Region lists (BED convention: contig, 0-based start, end) and their BED files."""

from __future__ import annotations

import bisect
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
    """The parts of `regions` inside `keep` (non-overlapping, e.g. merged targets), in `regions`' order.

    Each region looks up only the `keep` intervals it can overlap, so an exome's 200,000 targets
    against the callable genome take a moment, not minutes."""
    by_contig: dict[str, list[Region]] = {}
    for region in sorted(keep, key=lambda r: (r[1], r[2])):
        by_contig.setdefault(region[0], []).append(region)
    ends = {contig: [e for _, _, e in kept] for contig, kept in by_contig.items()}
    out = []
    for chrom, start, end in regions:
        kept = by_contig.get(chrom, [])
        i = bisect.bisect_right(ends.get(chrom, []), start)
        while i < len(kept) and kept[i][1] < end:
            out.append((chrom, max(start, kept[i][1]), min(end, kept[i][2])))
            i += 1
    return out


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
