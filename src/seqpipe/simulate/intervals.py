"""Half-open intervals per contig: overlap queries, insertion and merging (used for placement and strata)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator

Interval = tuple[str, int, int]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, merged copy: touching or overlapping intervals become one."""
    merged: list[Interval] = []
    for chrom, start, end in sorted(intervals):
        if merged and merged[-1][0] == chrom and start <= merged[-1][2]:
            if end > merged[-1][2]:
                merged[-1] = (chrom, merged[-1][1], end)
        else:
            merged.append((chrom, start, end))
    return merged


class IntervalIndex:
    """Non-overlapping intervals per contig, kept sorted so overlap tests are a bisect."""

    def __init__(self, intervals: Iterable[Interval] = ()) -> None:
        self._starts: dict[str, list[int]] = {}
        self._ends: dict[str, list[int]] = {}
        for chrom, start, end in merge(intervals):
            self._starts.setdefault(chrom, []).append(start)
            self._ends.setdefault(chrom, []).append(end)

    def overlaps(self, chrom: str, start: int, end: int) -> bool:
        starts = self._starts.get(chrom)
        if not starts:
            return False
        i = bisect.bisect_left(starts, end)
        # Only the interval starting just before `end` can reach back over `start` (they don't overlap).
        return i > 0 and self._ends[chrom][i - 1] > start

    def add(self, chrom: str, start: int, end: int) -> None:
        """Insert, merging with whatever it touches."""
        starts = self._starts.setdefault(chrom, [])
        ends = self._ends.setdefault(chrom, [])
        lo = bisect.bisect_left(ends, start)
        hi = bisect.bisect_right(starts, end)
        if lo < hi:
            start = min(start, starts[lo])
            end = max(end, ends[hi - 1])
        starts[lo:hi] = [start]
        ends[lo:hi] = [end]

    def __iter__(self) -> Iterator[Interval]:
        for chrom in sorted(self._starts):
            yield from ((chrom, s, e) for s, e in zip(self._starts[chrom], self._ends[chrom], strict=True))

    def total_length(self) -> int:
        return sum(end - start for _, start, end in self)
