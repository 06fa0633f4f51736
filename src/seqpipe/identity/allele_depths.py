"""The run's genotypes at its identity sites, as written by the genotype_identity_sites rule: a line of
sample names, then per site CHROM, POS and per sample GT:AD (bcftools query)."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Call:
    """One sample at one biallelic site: ALT dosage of its genotype (None if uncalled), read counts."""

    dosage: int | None
    ref_reads: int
    alt_reads: int

    @property
    def depth(self) -> int:
        return self.ref_reads + self.alt_reads


def _call(cell: str) -> Call:
    gt, _, ad = cell.partition(":")
    alleles = gt.replace("|", "/").split("/")
    dosage = None if "." in alleles else sum(a != "0" for a in alleles)
    depths = [int(d) for d in ad.split(",") if d != "."]
    ref_reads = depths[0] if depths else 0
    alt_reads = depths[1] if len(depths) > 1 else 0
    return Call(dosage, ref_reads, alt_reads)


def read_allele_depths(path: str | Path) -> tuple[list[str], list[list[Call]]]:
    """Sample names and, per site, one Call per sample in that order."""
    with gzip.open(path, "rt") as fh:
        samples = fh.readline().rstrip("\n").split("\t")
        sites = [[_call(cell) for cell in line.rstrip("\n").split("\t")[2:]] for line in fh]
    return samples, sites
