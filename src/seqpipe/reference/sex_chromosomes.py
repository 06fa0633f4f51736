"""Sex chromosomes of a build: their names and pseudoautosomal regions (PARs), built in or from config,
and the ploidy each sex has along them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from seqpipe.reference.contigs import ReferenceError
from seqpipe.reference.regions import Region

# 1-based inclusive, as NCBI/GRC publish them.
BUILT_IN: dict[str, dict[str, list[tuple[int, int]]]] = {
    "GRCh38": {
        "chrX": [(10_001, 2_781_479), (155_701_383, 156_030_895)],
        "chrY": [(10_001, 2_781_479), (56_887_903, 57_217_415)],
    },
    "GRCh37": {
        "X": [(60_001, 2_699_520), (154_931_044, 155_260_560)],
        "Y": [(10_001, 2_649_520), (59_034_050, 59_363_566)],
    },
}
SEXES = ("female", "male")


@dataclass(frozen=True)
class SexChromosomes:
    x: str
    y: str
    # 0-based half-open, per contig; None when neither the build nor the config defines them
    pars: dict[str, list[tuple[int, int]]] | None

    @classmethod
    def from_config(cls, reference: Mapping[str, Any]) -> SexChromosomes:
        build = reference.get("build")
        published = reference.get("par") or BUILT_IN.get(build or "")
        names = reference.get("sex_chromosomes") or {}
        default_x, default_y = list(BUILT_IN[build]) if build in BUILT_IN else ("chrX", "chrY")
        x, y = names.get("x", default_x), names.get("y", default_y)
        if published is None:
            return cls(x, y, None)
        unknown = sorted(set(published) - {x, y})
        if unknown:
            raise ReferenceError(
                f"config: reference.par names {', '.join(unknown)}, which is neither the X ({x}) nor the Y "
                f"({y}) contig (set reference.sex_chromosomes to name them)"
            )
        pars = {c: sorted((int(s) - 1, int(e)) for s, e in published.get(c, [])) for c in (x, y)}
        return cls(x, y, pars)

    def non_par(self, contig: str, length: int) -> list[Region]:
        """The contig outside its PARs (the whole contig when PARs are unknown)."""
        regions, start = [], 0
        for s, e in (self.pars or {}).get(contig, []):
            if s > start:
                regions.append((contig, start, min(s, length)))
            start = max(start, e)
        if start < length:
            regions.append((contig, start, length))
        return regions

    def ploidy(self, sex: str, lengths: Mapping[str, int]) -> list[tuple[Region, int]]:
        """Where a sex departs from diploid: a male's X outside the PARs and his Y are haploid, a
        female has no Y. The male's Y PARs are haploid too: in references that keep them (GRCh37,
        GRCh38 without the analysis set's mask) PAR reads split between X and Y at MAPQ 0."""
        changes: list[tuple[Region, int]] = []
        if sex not in SEXES:  # unknown or ambiguous: diploid everywhere, as without sex chromosomes
            return changes
        if self.y in lengths:
            changes.append(((self.y, 0, lengths[self.y]), 1 if sex == "male" else 0))
        if sex == "male" and self.x in lengths:
            changes += [(region, 1) for region in self.non_par(self.x, lengths[self.x])]
        return sorted(changes, key=lambda change: (list(lengths).index(change[0][0]), change[0][1]))


def check_pars_known(chromosomes: SexChromosomes, contigs: Sequence[str], sexes: Mapping[str, str]) -> None:
    """Stop before any job when a sample may be male, the reference has an X and its PARs are unknown."""
    maybe_male = sorted(s for s, sex in sexes.items() if sex in ("male", "unknown"))
    if chromosomes.pars is not None or chromosomes.x not in contigs or not maybe_male:
        return
    raise ReferenceError(
        f"config: the PARs of {chromosomes.x}/{chromosomes.y} are unknown, and samples "
        f"{', '.join(maybe_male)} are male or of unknown sex (a male is haploid on X outside the PARs). "
        f"Set reference.build to one with built-in PARs ({', '.join(BUILT_IN)}), or give them as "
        f"reference.par, 1-based inclusive, e.g. par: {{{chromosomes.x}: [[10001, 2781479], "
        f"[155701383, 156030895]], {chromosomes.y}: [[10001, 2781479], [56887903, 57217415]]}}"
    )
