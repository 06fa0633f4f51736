"""Identity and contamination verdicts of a run's samples, for the QC summary (qc_summary.tsv, MultiQC).

Identity: pairwise genotype discordance at the run's own variant sites, counted only where at least
one of the two samples carries the ALT allele: sites where both are hom-ref say nothing about a pair,
and counting them (as `bcftools gtcheck` does) would make the figure depend on how many other samples
contributed sites. The same person twice (a duplicate, or a swap that put one person's DNA in two
tubes) gives a discordance near the genotyping error rate; relatives fall between that and unrelated
people. Pairs the sheet declares related (samples.tsv `relatives`) are not flagged.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from seqpipe.identity.allele_depths import Call, read_allele_depths
from seqpipe.identity.contamination import estimate
from seqpipe.qc.verdicts import FAIL, PASS, WARN, Verdict, write_verdicts


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    mismatches: int
    sites: int

    @property
    def discordance(self) -> float:
        return self.mismatches / self.sites if self.sites else 1.0


def compare_pairs(samples: Sequence[str], sites: Sequence[Sequence[Call]]) -> list[Pair]:
    """Every pair of samples once: genotype mismatches over the sites either of them carries an ALT at."""
    pairs = []
    for i, j in itertools.combinations(range(len(samples)), 2):
        called = [(site[i].dosage, site[j].dosage) for site in sites]
        both = [(a, b) for a, b in called if a is not None and b is not None and (a or b)]
        pairs.append(Pair(samples[i], samples[j], sum(a != b for a, b in both), len(both)))
    return pairs


def identity_verdicts(
    samples: Sequence[str],
    pairs: Sequence[Pair],
    relatives: Mapping[str, Sequence[str]],
    settings: Mapping[str, float],
) -> list[Verdict]:
    """Per sample: its closest other sample, FAIL when that is the same person and WARN when a
    relative, unless the sheet declares the two related."""
    duplicate_max, related_max = settings["duplicate_max_discordance"], settings["related_max_discordance"]
    threshold = f"discordance > {duplicate_max:g} (duplicate), > {related_max:g} (relative)"
    verdicts = []
    for sample in samples:
        mine = [p for p in pairs if sample in (p.first, p.second) and p.sites >= settings["min_sites"]]
        if not mine:
            reason = f"fewer than {settings['min_sites']:g} sites compared with any other sample"
            verdicts.append(Verdict(sample, "identity_discordance", None, threshold, WARN, reason))
            continue
        closest = min(mine, key=lambda p: p.discordance)
        other = closest.second if closest.first == sample else closest.first
        declared = other in relatives.get(sample, ()) or sample in relatives.get(other, ())
        found = f"discordance {closest.discordance:.3f} with {other} at {closest.sites} sites"
        if declared or closest.discordance > related_max:
            verdict, reason = PASS, ""
        elif closest.discordance <= duplicate_max:
            verdict = FAIL
            reason = f"same person as {other} ({found}): a duplicate or swap the sheet does not declare"
        else:
            verdict, reason = WARN, f"related to {other} ({found}), which the sheet does not declare"
        verdicts.append(
            Verdict(sample, "identity_discordance", round(closest.discordance, 4), threshold, verdict, reason)
        )
    return verdicts


def contamination_verdicts(
    names: Sequence[str],
    sites: Sequence[Sequence[Call]],
    samples: Sequence[str],
    pairs: Sequence[Pair],
    settings: Mapping[str, float],
) -> list[Verdict]:
    """Per sample: its contamination by the run's other samples. The same person twice is no
    contaminant of itself (its DNA cannot be told from the sample's own, and its few genotyping
    differences would pass for a large fraction): the identity verdict reports that pair."""
    limit = settings["max_contamination_pct"]
    same_person = [
        (p.first, p.second)
        for p in pairs
        if p.sites >= settings["min_sites"] and p.discordance <= settings["duplicate_max_discordance"]
    ]
    verdicts = []
    for sample in samples:
        itself = {a if b == sample else b for a, b in same_person if sample in (a, b)}
        found = estimate(names, sites, sample, int(settings["min_site_depth"]), exclude=itself)
        pct = round(100 * found.fraction, 2)
        if not found.sites:
            verdicts.append(
                Verdict(sample, "contamination_pct", None, f"<= {limit:g}", WARN, "no usable sites")
            )
            continue
        reason = (
            f"contamination_pct {pct:g} is above the maximum {limit:g} "
            f"(foreign DNA most like {found.contaminant}'s, {found.sites} sites)"
            if pct > limit
            else ""
        )
        verdicts.append(
            Verdict(sample, "contamination_pct", pct, f"<= {limit:g}", FAIL if reason else PASS, reason)
        )
    return verdicts


def write_identity_qc(
    allele_depths: str | Path,
    samples: Sequence[str],
    relatives: Mapping[str, Sequence[str]],
    settings: Mapping[str, float],
    identity_tsv: str | Path,
    contamination_tsv: str | Path,
) -> None:
    names, sites = read_allele_depths(allele_depths)
    pairs = compare_pairs(names, sites)
    write_verdicts(identity_verdicts(samples, pairs, relatives, settings), identity_tsv)
    write_verdicts(contamination_verdicts(names, sites, samples, pairs, settings), contamination_tsv)
