"""Split the callable reference into N chunks of about equal callable length for scatter-gather calling.

The callable reference is the called contigs (seqpipe.reference.contigs: the primary assembly by
default) without their N gaps, and in a targeted run only their part inside the padded targets
(seqpipe.targets). Chunks are cut in a gap (or between contigs) when one lies near the
ideal cut, so a caller rarely sees a chunk edge in sequence; a gap-free stretch longer than a chunk is
cut where the chunk fills up.
"""

from __future__ import annotations

import bisect
from pathlib import Path

from seqpipe.reference.contigs import ContigSelection, callable_regions, read_alt, read_fai
from seqpipe.reference.regions import Region, intersect, read_bed, write_bed
from seqpipe.reference.sex_chromosomes import SexChromosomes

# How far (share of a chunk) a cut may move to fall into a gap instead of into sequence.
GAP_SNAP = 0.1


def split_regions(regions: list[Region], n: int) -> list[list[Region]]:
    """N chunks in reference order, each ~total/N callable bases.

    Chunks follow the reference order, so gathering them in order gives a sorted VCF.
    Fewer than N chunks come back only when there are fewer than N callable bases.
    """
    total = sum(end - start for _, start, end in regions)
    size = -(-total // n)  # ceiling: the last chunk is never the odd large one
    edges, done = [], 0  # callable bases before each region boundary
    for _, start, end in regions:
        done += end - start
        edges.append(done)
    cuts: list[int] = []
    for k in range(1, n):
        target = k * size
        if target >= total:
            break
        i = bisect.bisect_left(edges, target)
        nearest = min(edges[max(0, i - 1) : i + 1], key=lambda edge: abs(edge - target))
        cut = nearest if abs(nearest - target) <= GAP_SNAP * size else target
        cuts.append(cut if not cuts or cut > cuts[-1] else target)
    chunks: list[list[Region]] = [[]]
    done = 0
    for name, start, end in regions:
        while start < end:
            if len(chunks) <= len(cuts) and done == cuts[len(chunks) - 1]:
                chunks.append([])
            limit = cuts[len(chunks) - 1] if len(chunks) <= len(cuts) else done + end - start
            stop = min(end, start + limit - done)
            chunks[-1].append((name, start, stop))
            done += stop - start
            start = stop
    return chunks


def write_reference_layout(
    fasta: str | Path,
    fai: str | Path,
    alt: str | Path | None,
    selection: ContigSelection,
    chromosomes: SexChromosomes,
    chunk_beds: list[str | Path],
    callable_bed: str | Path,
    x_non_par_bed: str | Path,
    targets: str | Path | None = None,
) -> None:
    """The chunk BEDs, the callable reference and the callable non-PAR X (sex inference reads it).

    With `targets` (the padded targets BED) calling and sex inference stay inside the targets: an
    exome's depth outside them says nothing about its sex."""
    contigs = read_fai(fai)
    names = [name for name, _ in contigs]
    alt_contigs = read_alt(alt, names) if alt else set()
    regions = callable_regions(fasta, selection.called(names, alt_contigs))
    if targets is not None:
        regions = intersect(regions, read_bed(targets))
    chunks = split_regions(regions, len(chunk_beds))
    for i, bed in enumerate(chunk_beds):
        write_bed(bed, chunks[i] if i < len(chunks) else [])
    write_bed(callable_bed, regions)
    lengths = dict(contigs)
    x_regions = chromosomes.non_par(chromosomes.x, lengths[chromosomes.x]) if chromosomes.x in lengths else []
    write_bed(x_non_par_bed, intersect(regions, x_regions))
