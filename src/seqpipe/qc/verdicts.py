"""Per-sample QC verdicts: metrics checked against min/max limits from the configuration.

The pipeline's QC summary and the demultiplexing's checks are made of these; the data plane stores
them as they are, so a verdict means the same thing wherever it is shown.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from seqpipe.tsv import TsvError, read_tsv

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
COLUMNS = ("sample", "metric", "value", "threshold", "verdict", "reason")


@dataclass(frozen=True)
class Verdict:
    sample: str
    metric: str
    value: float | None
    threshold: str
    verdict: str
    reason: str


def _describe(limits: Mapping[str, float]) -> str:
    parts = []
    if "min" in limits:
        parts.append(f">= {limits['min']:g}")
    if "max" in limits:
        parts.append(f"<= {limits['max']:g}")
    return " and ".join(parts)


def evaluate(
    sample: str,
    metrics: Mapping[str, float | None],
    thresholds: Mapping[str, Mapping[str, float]],
    no_value: Mapping[str, str] | None = None,
    causes: Mapping[str, str] | None = None,
) -> list[Verdict]:
    """One verdict per thresholded metric; a metric without a value fails, with that reason.

    `no_value` says why a metric has none when that is known (e.g. an infinite fold-80); otherwise the
    reason is that it was not measured. `causes` says what made a metric miss its limit, when that is
    measured (e.g. which filters dropped the reads), and ends the reason."""
    verdicts = []
    for metric, limits in sorted(thresholds.items()):
        value = metrics.get(metric)
        threshold = _describe(limits)
        if value is None:
            reason = (no_value or {}).get(metric, f"{metric} was not measured")
            verdicts.append(Verdict(sample, metric, None, threshold, FAIL, reason))
            continue
        if "min" in limits and value < limits["min"]:
            reason = f"{metric} {value:g} is below the minimum {limits['min']:g}"
        elif "max" in limits and value > limits["max"]:
            reason = f"{metric} {value:g} is above the maximum {limits['max']:g}"
        else:
            reason = ""
        cause = (causes or {}).get(metric, "")
        if reason and cause:
            reason += f": {cause}"
        verdicts.append(Verdict(sample, metric, value, threshold, FAIL if reason else PASS, reason))
    return verdicts


def sample_passes(verdicts: Iterable[Verdict]) -> bool:
    """A warning is shown but does not fail a sample."""
    return all(v.verdict != FAIL for v in verdicts)


def sample_verdict(verdicts: Iterable[Verdict]) -> str:
    """The sample's own verdict, PASS or FAIL: what the data plane records and delivery goes by."""
    return PASS if sample_passes(verdicts) else FAIL


def as_warnings(verdicts: Iterable[Verdict]) -> list[Verdict]:
    """The same checks, for limits that deserve attention but must not fail anything (e.g. per lane)."""
    return [replace(v, verdict=WARN) if v.verdict == FAIL else v for v in verdicts]


def write_verdicts(verdicts: Iterable[Verdict], path: str | Path) -> None:
    """A verdict table: qc_summary.tsv, or demux_qc.tsv with the same columns."""
    with Path(path).open("w", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        for v in verdicts:
            row = asdict(v)
            row["value"] = _number(v.value)
            writer.writerow(row)


def _number(value: float | None) -> str:
    """Counts stay whole numbers, fractions keep four decimals."""
    if value is None:
        return "NA"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}".rstrip("0")


def read_verdicts(path: str | Path) -> list[Verdict]:
    """The rows of a verdict table written by write_verdicts."""
    rows = []
    for line, row in read_tsv(path, COLUMNS)[1]:
        try:
            value = None if row["value"] == "NA" else float(row["value"])
        except (KeyError, ValueError):
            raise TsvError(
                f"{path} line {line}, field 'value': a number or NA, got {row.get('value')!r}"
            ) from None
        rows.append(
            Verdict(
                row["sample"],
                row["metric"],
                value,
                row.get("threshold", ""),
                row["verdict"],
                row.get("reason", ""),
            )
        )
    return rows
