"""Target metrics of exome and panel runs, from mosdepth (run with --by targets --thresholds 20) and
the read counts of compute_target_coverage."""

from __future__ import annotations

import gzip
from pathlib import Path

from seqpipe.qc.metrics import mean_depth


def mean_target_depth(mosdepth_summary: str | Path) -> float | None:
    """Mean depth over the targets: the 'total_region' row of mosdepth's summary."""
    return mean_depth(mosdepth_summary, row="total_region")


def target_bases_pct(thresholds_bed: str | Path) -> float | None:
    """% of target bases at or above the (single) depth of mosdepth's thresholds file."""
    covered = total = 0
    with gzip.open(thresholds_bed, "rt") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            fields = line.split("\t")
            total += int(fields[2]) - int(fields[1])
            covered += int(fields[4])
    return 100 * covered / total if total else None


def fold_80(region_dist: str | Path, mean: float | None) -> float | None:
    """Fold-80 base penalty: the mean target depth over the depth that 80 % of target bases reach.

    None when a fifth of the target bases or more is not covered at all (the penalty is infinite).
    mosdepth gives the shares with two decimals, so the depth found may be one off the exact one.
    """
    reached = 0
    for line in Path(region_dist).read_text().splitlines():
        scope, depth, share = line.split("\t")
        if scope == "total" and float(share) >= 0.8:
            reached = max(reached, int(depth))
    if not mean or not reached:
        return None
    return mean / reached


def uncovered_pct(region_dist: str | Path) -> float:
    """% of target bases at depth 0 (mosdepth's share of bases at depth >= 1, two decimals)."""
    for line in Path(region_dist).read_text().splitlines():
        scope, depth, share = line.split("\t")
        if scope == "total" and depth == "1":
            return round(100 * (1 - float(share)), 2)
    return 100.0  # mosdepth lists no depth above the highest reached: no base is covered


def on_target_pct(counts: str | Path) -> float | None:
    """% of primary, mapped, non-duplicate reads that overlap a padded target."""
    values = dict(line.split("\t") for line in Path(counts).read_text().splitlines())
    reads = int(values["reads"])
    return 100 * int(values["on_target"]) / reads if reads else None


def target_metrics(
    mosdepth_summary: str | Path, region_dist: str | Path, thresholds_bed: str | Path, counts: str | Path
) -> tuple[dict[str, float | None], dict[str, str]]:
    """The target metrics, and why a metric that was looked at has no value (its verdict's reason)."""
    mean = mean_target_depth(mosdepth_summary)
    metrics = {
        "on_target_pct": on_target_pct(counts),
        "mean_target_depth": mean,
        "target_20x_pct": target_bases_pct(thresholds_bed),
        "fold_80": fold_80(region_dist, mean),
    }
    reasons = {}
    if metrics["fold_80"] is None:
        uncovered = uncovered_pct(region_dist)
        reasons["fold_80"] = f"fold_80 is not finite: {uncovered:g} % of target bases have no coverage"
    return metrics, reasons
