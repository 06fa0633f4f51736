"""The QC metrics the pages show, and their charts: per sample of a run, or per run of a sample."""

from __future__ import annotations

import re
from collections.abc import Callable

from markupsafe import Markup

from seqpipe.aws.views import SampleQC
from seqpipe.web import plots

# The metrics shown in tables and plotted, with the unit people read them in.
METRICS: tuple[tuple[str, str, str], ...] = (
    ("mean_depth", "Mean depth", "×"),
    ("duplicate_pct", "Duplicates", "%"),
    ("mapped_pct", "Mapped", "%"),
    ("tstv", "Ts/Tv", ""),
)
PLOTTED = ("mean_depth", "duplicate_pct", "tstv")


def metric_charts(
    chart: Callable[..., Markup], suffix: str, items: list[SampleQC], label_of: Callable[[SampleQC], str]
) -> list[Markup]:
    """One chart per plotted metric, a bar per item (a sample of a run, or a run of a sample)."""
    return [
        chart(
            f"{label} {suffix}",
            [plots.Bar(label_of(i), i.metrics.get(name), _metric_verdict(i, name)) for i in items],
            unit=unit,
            thresholds=_limits(items, name),
        )
        for name, label, unit in METRICS
        if name in PLOTTED
    ]


def _limits(qc: list[SampleQC], metric: str) -> list[float]:
    """The numeric limits of a metric's check ('>= 1.7 and <= 2.4' → [1.7, 2.4]), drawn on plots."""
    for entry in qc:
        for check in entry.checks:
            if check.metric == metric and check.threshold:
                return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", check.threshold)]
    return []


def _metric_verdict(entry: SampleQC, metric: str) -> str:
    """A bar's colour: that metric's own check (a sample failing on duplicates has a fine Ts/Tv)."""
    return next((c.verdict for c in entry.checks if c.metric == metric), "")


def metric_columns() -> list[dict[str, str]]:
    return [{"name": n, "label": label, "unit": unit} for n, label, unit in METRICS]
