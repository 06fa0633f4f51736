"""Truth variants per sample: SNVs and 1–20 bp indels, diploid and phased, well spaced.

Indels are left-aligned here, so the truth VCF is already in `bcftools norm` form, and every variant
reserves the whole stretch over which it could slide (plus a margin): no two variants of a sample
interact, which keeps the truth unambiguous.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from seqpipe.simulate.genome import Genome, Microsatellite
from seqpipe.simulate.intervals import IntervalIndex
from seqpipe.simulate.sequence import random_dna, rng_for, substitute

MIN_SPACING = 15
EDGE_MARGIN = 200
MAX_INDEL = 20
INDEL_LENGTH_EXPONENT = -1.8


@dataclass(frozen=True)
class TruthRates:
    snv_per_kb: float = 0.9
    indel_per_kb: float = 0.144
    str_indel_share: float = 0.45
    het_share: float = 0.61
    shared_with_first: float = 0.6


@dataclass(frozen=True)
class Variant:
    """One VCF record: 0-based `pos` of the first REF base; `span` is the stretch it may slide over."""

    chrom: str
    pos: int
    ref: str
    alt: str
    span: tuple[int, int]
    microsatellite: bool = False
    genotype: tuple[int, ...] = (0, 1)  # one allele per copy: (1,) is hemizygous

    @property
    def is_snv(self) -> bool:
        return len(self.ref) == 1 and len(self.alt) == 1


def _deletion(seq: str, chrom: str, start: int, length: int, microsatellite: bool) -> Variant:
    """Delete seq[start:start+length], left-aligned; the span covers every equivalent placement."""
    while start > 1 and seq[start - 1] == seq[start + length - 1]:
        start -= 1
    end = start + length
    while end < len(seq) and seq[end] == seq[end - length]:
        end += 1
    ref = seq[start - 1 : start + length]
    return Variant(chrom, start - 1, ref, ref[0], (start - 1, end + 1), microsatellite)


def _insertion(seq: str, chrom: str, gap: int, inserted: str, microsatellite: bool) -> Variant:
    """Insert before seq[gap], left-aligned; the span covers every equivalent placement."""
    while gap > 1 and seq[gap - 1] == inserted[-1]:
        inserted = inserted[-1] + inserted[:-1]
        gap -= 1
    end, rotated = gap, inserted
    while end < len(seq) and seq[end] == rotated[0]:
        rotated = rotated[1:] + rotated[0]
        end += 1
    return Variant(chrom, gap - 1, seq[gap - 1], seq[gap - 1] + inserted, (gap - 1, end + 1), microsatellite)


def _indel_length(rng: random.Random, step: int = 1) -> int:
    lengths = list(range(step, MAX_INDEL + 1, step))
    return rng.choices(lengths, weights=[n**INDEL_LENGTH_EXPONENT for n in lengths])[0]


def random_indel(rng: random.Random, seq: str, chrom: str, pos: int) -> Variant:
    length = _indel_length(rng)
    if rng.random() < 0.5:
        return _deletion(seq, chrom, pos, length, False)
    # Half of the insertions duplicate the following bases, as real tandem insertions often do.
    inserted = seq[pos : pos + length] if rng.random() < 0.5 else random_dna(rng, length, 0.45)
    return _insertion(seq, chrom, pos, inserted, False)


def _microsatellite_indel(rng: random.Random, seq: str, tract: Microsatellite) -> Variant:
    """Expand or contract the tract by whole units, keeping at least two units (or 3 bases)."""
    unit = tract.unit
    units = (tract.end - tract.start) // len(unit)
    removable = units - max(2, -(-3 // len(unit)))
    length = _indel_length(rng, len(unit))
    if rng.random() < 0.5 and length // len(unit) <= removable:
        return _deletion(seq, tract.chrom, tract.start, length, True)
    return _insertion(seq, tract.chrom, tract.start, unit * (length // len(unit)), True)


def _genotype(rng: random.Random, het_share: float) -> tuple[int, int]:
    if rng.random() < het_share:
        return (0, 1) if rng.random() < 0.5 else (1, 0)
    return (1, 1)


class _SiteDrawer:
    def __init__(self, rng: random.Random, genome: Genome, het_share: float) -> None:
        self.rng = rng
        self.genome = genome
        self.het_share = het_share
        self.names = list(genome.contigs)
        self.weights = [len(s) for s in genome.contigs.values()]

    def position(self) -> tuple[str, int]:
        """A random base that is not in an N gap (sites near one are refused later, as too close)."""
        while True:
            chrom = self.rng.choices(self.names, weights=self.weights)[0]
            pos = self.rng.randint(EDGE_MARGIN, len(self.genome.contigs[chrom]) - EDGE_MARGIN)
            if self.genome.contigs[chrom][pos] != "N":
                return chrom, pos

    def snv(self) -> Variant:
        chrom, pos = self.position()
        ref = self.genome.contigs[chrom][pos]
        return Variant(chrom, pos, ref, substitute(self.rng, ref), (pos, pos + 1))

    def indel(self) -> Variant:
        chrom, pos = self.position()
        return random_indel(self.rng, self.genome.contigs[chrom], chrom, pos)

    def microsatellite_indel(self) -> Variant:
        tract = self.rng.choice(self.genome.microsatellites)
        return _microsatellite_indel(self.rng, self.genome.contigs[tract.chrom], tract)


def _fill(
    drawer: _SiteDrawer, taken: IntervalIndex, out: list[Variant], make: Callable[[], Variant], count: int
) -> None:
    for _ in range(100 * count + 1000):
        if count == 0:
            return
        v = make()
        lo, hi = v.span[0] - MIN_SPACING, v.span[1] + MIN_SPACING
        if taken.overlaps(v.chrom, lo, hi):
            continue
        taken.add(v.chrom, lo, hi)
        out.append(replace(v, genotype=_genotype(drawer.rng, drawer.het_share)))
        count -= 1
    if count:
        raise ValueError(
            f"could not place {count} more variants {MIN_SPACING} bp apart; "
            "lower --snv-per-kb or --indel-per-kb"
        )


def draw_truth(seed: int, genome: Genome, samples: list[str], rates: TruthRates) -> dict[str, list[Variant]]:
    """Per sample, sorted; later samples share `shared_with_first` of the first sample's sites."""
    size = sum(len(s) for s in genome.contigs.values())
    n_snv = round(rates.snv_per_kb * size / 1000)
    n_indel = round(rates.indel_per_kb * size / 1000)
    n_str = min(round(rates.str_indel_share * n_indel), len(genome.microsatellites))
    contig_order = {name: i for i, name in enumerate(genome.contigs)}
    truth: dict[str, list[Variant]] = {}
    for index, sample in enumerate(samples):
        rng = rng_for(seed, "truth", sample)
        drawer = _SiteDrawer(rng, genome, rates.het_share)
        # no variant in or near an N gap: reads thin out towards it as they do at a contig's end
        taken = IntervalIndex([(c, s - EDGE_MARGIN, e + EDGE_MARGIN) for c, s, e in genome.gaps])
        variants: list[Variant] = []
        want = {"snv": n_snv, "indel": n_indel - n_str, "str": n_str}
        if index > 0:
            first = truth[samples[0]]
            for v in rng.sample(first, round(rates.shared_with_first * len(first))):
                variants.append(replace(v, genotype=_genotype(rng, rates.het_share)))
                taken.add(v.chrom, v.span[0] - MIN_SPACING, v.span[1] + MIN_SPACING)
                want["snv" if v.is_snv else "str" if v.microsatellite else "indel"] -= 1
        _fill(drawer, taken, variants, drawer.microsatellite_indel, want["str"])
        _fill(drawer, taken, variants, drawer.indel, want["indel"])
        _fill(drawer, taken, variants, drawer.snv, want["snv"])
        truth[sample] = sorted(variants, key=lambda v: (contig_order[v.chrom], v.pos))
    return truth


def haplotype(seq: str, chrom: str, variants: list[Variant], copy: int) -> str:
    """The contig's sequence on one copy (0 or 1) of a sample: the variants whose genotype carries
    their ALT on that copy applied (sorted, non-overlapping)."""
    parts, cursor = [], 0
    for v in variants:
        if v.chrom == chrom and v.genotype[copy]:
            parts += [seq[cursor : v.pos], v.alt]
            cursor = v.pos + len(v.ref)
    parts.append(seq[cursor:])
    return "".join(parts)


def haplotype_slice(
    variants: list[Variant], contigs: dict[str, str], copy: int, region: tuple[str, int, int]
) -> str:
    """One copy's sequence (`contigs`, as haplotype made it) over a reference region, its ends shifted
    by the indels before them on that copy."""
    chrom, start, end = region

    def shifted(pos: int) -> int:
        return pos + sum(
            len(v.alt) - len(v.ref)
            for v in variants
            if v.chrom == chrom and v.genotype[copy] and v.pos + len(v.ref) <= pos
        )

    return contigs[chrom][shifted(start) : shifted(end)]


def haplotypes(genome: Genome, variants: list[Variant]) -> tuple[dict[str, str], dict[str, str]]:
    """The two phased haplotype sequences of a sample (variants must be sorted and non-overlapping)."""
    contigs = genome.contigs.items()
    first, second = ({c: haplotype(seq, c, variants, copy) for c, seq in contigs} for copy in (0, 1))
    return first, second
