"""The fraction of foreign DNA in a sample, from allele balance at its confident homozygous sites.

Method (docs/usage.md, Sample identity): at a site where a sample is homozygous, every read of the
other allele is a sequencing error or foreign DNA. If a fraction `alpha` of the DNA comes from a
contaminant carrying the other allele on a fraction q of its chromosomes (q = 0, 1/2 or 1 for its
genotype), the other allele's reads are Binomial(n, e + alpha * q * (1 - 2e)), e being the error
rate. The contaminant is taken to be one of the run's other samples (cross-sample contamination in a
batch), whose genotypes give q at every site: alpha is the maximum-likelihood value for each
candidate, and the candidate that explains the reads best gives the estimate. e comes from the
sites where the candidate has the sample's genotype (q = 0). A het site called homozygous by chance
is allowed for by a small mixture weight (HET_OUTLIER) on Binomial(n, 1/2), so that one such site
cannot pass for contamination.

Sites: the run's biallelic SNPs genotyped in every sample (genotype_identity_sites), at which the
sample has at least `min_depth` reads and an allele fraction below OTHER_ALLELE_MAX (or above
1 - OTHER_ALLELE_MAX): with up to ~30 % foreign DNA such a site stays homozygous-looking.
A contaminant from outside the run is seen only through the run sample closest to it, so the
estimate is then a lower bound.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from seqpipe.identity.allele_depths import Call

OTHER_ALLELE_MAX = 0.35
HET_OUTLIER = 0.01
MAX_ALPHA = 0.5


@dataclass(frozen=True)
class Observation:
    """A homozygous site of the sample: reads of the other allele, depth, and the candidate's q."""

    other: int
    depth: int
    q: float


@dataclass(frozen=True)
class Estimate:
    fraction: float
    contaminant: str | None
    sites: int


def observations(sample: Sequence[Call], candidate: Sequence[Call], min_depth: int) -> list[Observation]:
    found = []
    for own, other in zip(sample, candidate, strict=True):
        if own.depth < min_depth or other.dosage is None:
            continue
        alt_share = own.alt_reads / own.depth
        if alt_share <= OTHER_ALLELE_MAX:
            found.append(Observation(own.alt_reads, own.depth, other.dosage / 2))
        elif alt_share >= 1 - OTHER_ALLELE_MAX:
            found.append(Observation(own.ref_reads, own.depth, 1 - other.dosage / 2))
    return found


def _error_rate(sites: Sequence[Observation]) -> float:
    """Other-allele reads at sites the candidate cannot explain (q = 0), stray hets left out."""
    clean = [s for s in sites if s.q == 0 and s.other <= 0.2 * s.depth]
    return (sum(s.other for s in clean) + 1) / (sum(s.depth for s in clean) + 2)


def _log_likelihood(sites: Sequence[Observation], alpha: float, error: float) -> float:
    total = 0.0
    for s in sites:
        p = error + alpha * s.q * (1 - 2 * error)
        hom = math.log1p(-HET_OUTLIER) + s.other * math.log(p) + (s.depth - s.other) * math.log1p(-p)
        het = math.log(HET_OUTLIER) + s.depth * math.log(0.5)
        top = max(hom, het)
        total += top + math.log(math.exp(hom - top) + math.exp(het - top))
    return total


def _best_alpha(sites: Sequence[Observation]) -> tuple[float, float]:
    """(alpha, log-likelihood) by a coarse grid then a fine one around its best point."""
    error = _error_rate(sites)
    grid = [i / 1000 for i in range(round(MAX_ALPHA * 1000) + 1)]
    best = max(grid, key=lambda a: _log_likelihood(sites, a, error))
    fine = [max(0.0, best + (i - 10) / 10_000) for i in range(21)]
    alpha = max(fine, key=lambda a: _log_likelihood(sites, a, error))
    return alpha, _log_likelihood(sites, alpha, error)


def estimate(
    samples: Sequence[str],
    sites: Sequence[Sequence[Call]],
    sample: str,
    min_depth: int,
    exclude: Collection[str] = (),
) -> Estimate:
    """The contamination of `sample` by the run's other samples but `exclude`; fraction 0 without
    usable sites."""
    index = samples.index(sample)
    own = [site[index] for site in sites]
    best = Estimate(0.0, None, 0)
    best_likelihood = -math.inf
    for j, candidate in enumerate(samples):
        if j == index or candidate in exclude:
            continue
        found = observations(own, [site[j] for site in sites], min_depth)
        if not any(s.q > 0 for s in found):
            continue
        alpha, likelihood = _best_alpha(found)
        null = _log_likelihood(found, 0.0, _error_rate(found))
        # the gain over no contamination, so candidates with different site counts compare fairly
        if likelihood - null > best_likelihood:
            best, best_likelihood = Estimate(alpha, candidate, len(found)), likelihood - null
    return best
