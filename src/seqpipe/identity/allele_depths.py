"""The run's genotypes at its identity sites, as written by the genotype_identity_sites rule (the run's own
sites) or gather_identity_panel (a fixed panel): a line of sample names, then per site CHROM, POS and per
sample GT:AD (bcftools query)."""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# a sample without a read at a panel site: uncalled, no reads (its part has no line there)
MISSING = "./.:0,0"


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


def merge_panel_genotypes(
    parts: Mapping[str, Sequence[str | Path]], sites: str | Path, out: str | Path
) -> None:
    """Write the allele-depths table (read_allele_depths) from per-sample parts, each lines of CHROM,
    POS and the sample's GT:AD at the panel sites of one chunk (an empty file for a chunk without any),
    in the order of `sites` (the prepared panel: CHROM, POS, REF,ALT). A site a sample has no read at
    is missing from its part; it is written as uncalled with no reads, and sites no sample has are left out.
    """
    samples = list(parts)
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for sample, files in parts.items():
        for file in files:
            with gzip.open(file, "rt") as fh:  # an empty file (empty chunk) reads as no lines
                for line in fh:
                    contig, pos, cell = line.rstrip("\n").split("\t")
                    cells.setdefault((contig, pos), {})[sample] = cell
    with gzip.open(sites, "rt") as fh, gzip.open(out, "wt", compresslevel=6) as written:
        written.write("\t".join(samples) + "\n")
        for line in fh:
            contig, pos, _ = line.split("\t", 2)
            found = cells.get((contig, pos))
            if found:
                row = [found.get(sample, MISSING) for sample in samples]
                written.write("\t".join([contig, pos, *row]) + "\n")
