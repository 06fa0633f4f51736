"""A dbSNP-like known-sites VCF for a simulated data set: most of the samples' variants plus population
SNPs no sample carries.

BQSR masks known sites so that real variants do not count as sequencing errors, and an identity panel
needs common sites genotyped in every sample. A real catalogue of known variants holds most, not all, of
an individual's variants (the rest are rare or private) and many sites a given sample does not carry;
both shares are parameters here, seeded like the rest of the data.
"""

from __future__ import annotations

from dataclasses import replace

from seqpipe.simulate.intervals import IntervalIndex
from seqpipe.simulate.sequence import rng_for, substitute
from seqpipe.simulate.variants import EDGE_MARGIN, MIN_SPACING, Variant

# a sample's variant is in the catalogue with this probability (the others are private)
KNOWN_SHARE = 0.9
# population SNPs that no sample carries, per kb of reference
POPULATION_SNV_PER_KB = 0.5


def draw_known_sites(
    seed: int,
    contigs: dict[str, str],
    truth: dict[str, list[Variant]],
    known_share: float = KNOWN_SHARE,
    population_per_kb: float = POPULATION_SNV_PER_KB,
) -> list[Variant]:
    """Sites (genotype-free) in reference order: a seeded `known_share` of the distinct truth sites of all
    samples, plus `population_per_kb` SNPs per kb placed away from them and from N bases."""
    rng = rng_for(seed, "known-sites")
    distinct = {(v.chrom, v.pos, v.ref, v.alt): v for variants in truth.values() for v in variants}
    known = [v for _, v in sorted(distinct.items()) if rng.random() < known_share]
    taken = IntervalIndex(
        [(v.chrom, v.span[0] - MIN_SPACING, v.span[1] + MIN_SPACING) for v in distinct.values()]
    )
    names = list(contigs)
    weights = [len(seq) for seq in contigs.values()]
    wanted = round(population_per_kb * sum(weights) / 1000)
    for _ in range(100 * wanted + 1000):
        if wanted == 0:
            break
        chrom = rng.choices(names, weights=weights)[0]
        pos = rng.randint(EDGE_MARGIN, len(contigs[chrom]) - EDGE_MARGIN)
        ref = contigs[chrom][pos]
        if ref == "N" or taken.overlaps(chrom, pos - MIN_SPACING, pos + 1 + MIN_SPACING):
            continue
        taken.add(chrom, pos - MIN_SPACING, pos + 1 + MIN_SPACING)
        known.append(Variant(chrom, pos, ref, substitute(rng, ref), (pos, pos + 1)))
        wanted -= 1
    order = {name: i for i, name in enumerate(names)}
    return sorted((replace(v, genotype=()) for v in known), key=lambda v: (order[v.chrom], v.pos))
