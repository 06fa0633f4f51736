"""Sex inferred from the data, checked against the sex the sheet declares.

Three pieces of evidence, each voting female, male or not at all (docs/human-genomes.md):
* X/autosome depth ratio: median depth of 1 kb windows on callable non-PAR X over the autosomes'
  (about 1 in a female, 0.5 in a male); in a targeted run, of the targets themselves (their depth
  from mosdepth over the targets, the callable reference being the padded targets);
* Y/autosome depth ratio on callable non-PAR Y (about 0.5 in a male, near 0 in a female);
* X heterozygosity: the share of het genotypes among confident variant sites on non-PAR X, called
  diploid (a male has one X, so his share is near 0 up to errors).
The sex is inferred when the votes agree and the X depth votes; otherwise it is 'ambiguous' (which
also describes X0, XXY or a contaminated sample).
"""

from __future__ import annotations

import bisect
import gzip
import json
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from seqpipe.qc.verdicts import FAIL, PASS, WARN, Verdict, write_verdicts
from seqpipe.reference.regions import Region, read_bed
from seqpipe.reference.sex_chromosomes import SexChromosomes

DEFAULT_LIMITS = {
    "x_ratio_male_max": 0.7,
    "x_ratio_female_min": 0.8,
    "y_ratio_male_min": 0.15,
    "y_ratio_female_max": 0.05,
    "x_het_male_max": 0.2,
    "x_het_female_min": 0.3,
    "min_x_sites": 20,
    "min_site_qual": 30,
}
MQC_HEADER = """# id: 'sex_check'
# section_name: 'Sex check'
# description: 'Sex inferred from X/Y depth and X heterozygosity, against the sheet (a mismatch FAILs).'
# plot_type: 'table'
"""


@dataclass(frozen=True)
class SexInference:
    sample: str
    x_depth_ratio: float | None
    y_depth_ratio: float | None
    x_het_share: float | None
    x_sites: int
    inferred: str  # female, male, ambiguous, or 'not checked' (no X in the called reference)

    def evidence(self) -> str:
        def shown(value: float | None) -> str:
            return "NA" if value is None else f"{value:.2f}"

        return (
            f"X/autosome depth {shown(self.x_depth_ratio)}, Y/autosome depth {shown(self.y_depth_ratio)}, "
            f"X het share {shown(self.x_het_share)} of {self.x_sites} sites"
        )


def _window_depths(mosdepth_regions: str | Path) -> list[tuple[str, int, int, float]]:
    with gzip.open(mosdepth_regions, "rt") as fh:
        return [(f[0], int(f[1]), int(f[2]), float(f[3])) for f in (line.split("\t") for line in fh)]


def _median_inside(windows: list[tuple[str, int, int, float]], regions: Sequence[Region]) -> float | None:
    """Median depth of the windows lying wholly inside `regions` (gaps and PARs left out).

    `regions` do not overlap (the callable reference), so a window can only lie in the last region
    starting at or before it: one lookup per window, for a genome's 3 million windows or an exome's
    200,000 targets."""
    by_contig: dict[str, list[tuple[int, int]]] = {}
    for c, s, e in sorted(regions):
        by_contig.setdefault(c, []).append((s, e))
    starts = {c: [s for s, _ in spans] for c, spans in by_contig.items()}
    depths = []
    for c, s, e, depth in windows:
        i = bisect.bisect_right(starts.get(c, []), s) - 1
        if i >= 0 and e <= by_contig[c][i][1]:
            depths.append(depth)
    return statistics.median(depths) if depths else None


def _x_heterozygosity(vcf: str | Path, min_qual: float) -> tuple[float | None, int]:
    het = hom = 0
    for line in Path(vcf).read_text().splitlines():
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if fields[5] == "." or float(fields[5]) < min_qual:
            continue
        genotype = fields[9].split(":")[0].replace("|", "/")
        het += genotype in ("0/1", "1/0", "1/2")
        hom += genotype in ("1/1", "2/2")
    sites = het + hom
    return (het / sites if sites else None), sites


def _vote(
    value: float | None, is_male: Callable[[float], bool], is_female: Callable[[float], bool]
) -> str | None:
    if value is None:
        return None
    return "male" if is_male(value) else "female" if is_female(value) else "?"


def infer_sex(
    sample: str,
    chromosomes: SexChromosomes,
    mosdepth_regions: str | Path,
    callable_bed: str | Path,
    x_genotypes: str | Path,
    limits: Mapping[str, float],
) -> SexInference:
    limits = {**DEFAULT_LIMITS, **limits}
    callable_regions = read_bed(callable_bed)
    if not any(c == chromosomes.x for c, _, _ in callable_regions):
        return SexInference(sample, None, None, None, 0, "not checked")
    windows = _window_depths(mosdepth_regions)
    autosomes = [r for r in callable_regions if r[0] not in (chromosomes.x, chromosomes.y)]
    outside_pars = [
        (c, max(s, ns), min(e, ne))
        for c, s, e in callable_regions
        if c in (chromosomes.x, chromosomes.y)
        for _, ns, ne in chromosomes.non_par(c, e)
        if max(s, ns) < min(e, ne)
    ]
    autosome_depth = _median_inside(windows, autosomes)

    def ratio(contig: str) -> float | None:
        depth = _median_inside(windows, [r for r in outside_pars if r[0] == contig])
        return None if depth is None or not autosome_depth else depth / autosome_depth

    x_ratio, y_ratio = ratio(chromosomes.x), ratio(chromosomes.y)
    het_share, sites = _x_heterozygosity(x_genotypes, limits["min_site_qual"])
    counted_het = het_share if sites >= limits["min_x_sites"] else None
    votes = [
        vote
        for vote in (
            _vote(
                x_ratio,
                lambda r: r <= limits["x_ratio_male_max"],
                lambda r: r >= limits["x_ratio_female_min"],
            ),
            _vote(
                y_ratio,
                lambda r: r >= limits["y_ratio_male_min"],
                lambda r: r <= limits["y_ratio_female_max"],
            ),
            _vote(
                counted_het,
                lambda h: h <= limits["x_het_male_max"],
                lambda h: h >= limits["x_het_female_min"],
            ),
        )
        if vote is not None
    ]
    inferred = votes[0] if x_ratio is not None and len(set(votes)) == 1 and votes[0] != "?" else "ambiguous"
    return SexInference(sample, x_ratio, y_ratio, het_share, sites, inferred)


def write_inference(inference: SexInference, path: str | Path) -> None:
    Path(path).write_text(json.dumps(asdict(inference), indent=2) + "\n")


def read_inference(path: str | Path) -> SexInference:
    return SexInference(**json.loads(Path(path).read_text()))


def sex_check(declared: str, inference: SexInference) -> Verdict | None:
    """FAIL when the sheet and the data disagree; WARN when the data cannot tell; None without an X
    among the called contigs (nothing to check, as in the small demo genomes)."""
    threshold = f"declared {declared}"
    value = inference.y_depth_ratio
    if inference.inferred == "not checked":
        return None
    if inference.inferred == "ambiguous":
        reason = f"sex could not be inferred ({inference.evidence()}); declared {declared}"
        return Verdict(inference.sample, "sex", value, threshold, WARN, reason)
    if declared in ("male", "female") and declared != inference.inferred:
        reason = f"declared {declared} but the data are {inference.inferred} ({inference.evidence()})"
        return Verdict(inference.sample, "sex", value, threshold, FAIL, reason)
    return Verdict(inference.sample, "sex", value, threshold, PASS, "")


def write_sex_checks(
    declared: Mapping[str, str],
    inferences: Sequence[str | Path],
    verdicts: str | Path,
    multiqc_table: str | Path,
) -> None:
    """The checks as a verdict table (joined into qc_summary.tsv) and as a MultiQC table."""
    found = [read_inference(path) for path in inferences]
    checks = [sex_check(declared[i.sample], i) for i in found]
    write_verdicts([c for c in checks if c is not None], verdicts)
    rows = [
        MQC_HEADER + "Sample\tdeclared\tinferred\tverdict\tx_depth_ratio\ty_depth_ratio\tx_het_share\tx_sites"
    ]
    for inference, check in zip(found, checks, strict=True):
        numbers = [inference.x_depth_ratio, inference.y_depth_ratio, inference.x_het_share]
        rows.append(
            "\t".join(
                [
                    inference.sample,
                    declared[inference.sample],
                    inference.inferred,
                    check.verdict if check else "-",
                ]
                + ["NA" if n is None else f"{n:.3f}" for n in numbers]
                + [str(inference.x_sites)]
            )
        )
    Path(multiqc_table).write_text("\n".join(rows) + "\n")
