"""Split the callable reference into N chunks of about equal callable length for scatter-gather calling.

The callable reference is the called contigs (seqpipe.reference.contigs: the primary assembly by
default) without their N gaps, and in a targeted run only their part inside the padded targets
(seqpipe.targets). Its regions (the stretches between N gaps, or the padded targets) go whole, in
reference order, to the chunks, as GATK's SplitIntervals does with BALANCING_WITHOUT_INTERVAL_SUBDIVISION
and sarek with its interval lists: a caller never sees a chunk edge inside sequence it calls, so no
variant or haplotype is split between two chunks. The price is balance: a chunk is off the ideal size
by up to half a region, and a reference with fewer regions than chunks leaves chunks empty.
"""

from __future__ import annotations

import bisect
import itertools
from pathlib import Path

from seqpipe.reference.contigs import ContigSelection, callable_regions, read_alt, read_fai
from seqpipe.reference.regions import Region, intersect, read_bed, write_bed
from seqpipe.reference.sex_chromosomes import SexChromosomes


def split_regions(regions: list[Region], n: int) -> list[list[Region]]:
    """N chunks of whole regions in reference order, each near total/N callable bases.

    Chunks follow the reference order, so gathering them in order gives a sorted VCF. The cut after
    chunk k is the region boundary nearest to k/N of the callable bases, while every chunk still gets a
    region of its own; with fewer regions than chunks the last chunks are empty.
    """
    edges = [0]  # callable bases before each region boundary
    for _, start, end in regions:
        edges.append(edges[-1] + end - start)
    cuts = [0]  # regions in the chunks so far
    for k in range(1, n):
        target = k * edges[-1] / n
        i = bisect.bisect_left(edges, target)
        nearest = min((j for j in (i - 1, i) if 0 <= j < len(edges)), key=lambda j: abs(edges[j] - target))
        low = min(cuts[-1] + 1, len(regions))
        cuts.append(min(max(nearest, low), max(low, len(regions) - (n - k))))
    cuts.append(len(regions))
    return [regions[a:b] for a, b in itertools.pairwise(cuts)]


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
    for bed, chunk in zip(chunk_beds, split_regions(regions, len(chunk_beds)), strict=True):
        write_bed(bed, chunk)
    write_bed(callable_bed, regions)
    lengths = dict(contigs)
    x_regions = chromosomes.non_par(chromosomes.x, lengths[chromosomes.x]) if chromosomes.x in lengths else []
    write_bed(x_non_par_bed, intersect(regions, x_regions))
