"""The run's QC summary, computed once: per-sample metrics, checks and verdict.

Written as qc_summary.tsv (one row per check), qc_summary_mqc.tsv (the MultiQC table) and
qc_summary.json (per sample: metrics, checks, verdict), which the data plane and `seqpipe run
--record` store as they are (seqpipe.aws.qc): a sample has one verdict wherever it is shown.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import reduce
from pathlib import Path
from typing import Any

from seqpipe.qc.metrics import NO_READS, FastpCounts, is_variant_count, sample_metrics
from seqpipe.qc.targets import target_metrics
from seqpipe.qc.verdicts import (
    FAIL,
    PASS,
    WARN,
    Verdict,
    evaluate,
    read_verdicts,
    sample_passes,
    sample_verdict,
    write_verdicts,
)

HEADER = """# id: 'qc_verdicts'
# section_name: 'QC verdicts'
# description: 'Per-sample metrics against the configured thresholds (qc.thresholds); FAIL gives reasons.'
# plot_type: 'table'
"""


@dataclass(frozen=True)
class SampleQc:
    """Every number measured for a sample (checked ones included) and its checks."""

    metrics: dict[str, float | None]
    checks: list[Verdict] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return sample_verdict(self.checks)


@dataclass(frozen=True)
class QcSummary:
    samples: dict[str, SampleQc]
    # checks of no sample: the demultiplexing's per-lane warnings
    run_checks: list[Verdict] = field(default_factory=list)

    @classmethod
    def of(
        cls, metrics_by_sample: Mapping[str, Mapping[str, float | None]], checks: Sequence[Verdict]
    ) -> QcSummary:
        summary = cls({sample: SampleQc(dict(metrics)) for sample, metrics in metrics_by_sample.items()})
        for check in checks:
            sample = summary.samples.get(check.sample)
            if sample is None:
                summary.run_checks.append(check)
            else:
                sample.checks.append(check)
                sample.metrics.setdefault(check.metric, check.value)
        return summary

    def checks(self) -> list[Verdict]:
        return [c for sample in self.samples.values() for c in sample.checks] + self.run_checks

    def to_json(self) -> str:
        document = {
            "samples": {
                name: {
                    "verdict": sample.verdict,
                    "metrics": sample.metrics,
                    "checks": [asdict(c) for c in sample.checks],
                }
                for name, sample in self.samples.items()
            },
            "run_checks": [asdict(c) for c in self.run_checks],
        }
        return json.dumps(document, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> QcSummary:
        """ValueError, saying what is wrong, when the text is not such a summary."""
        try:
            document: dict[str, Any] = json.loads(text)
            return cls(
                {
                    name: SampleQc(dict(sample["metrics"]), [Verdict(**c) for c in sample["checks"]])
                    for name, sample in document["samples"].items()
                },
                [Verdict(**c) for c in document["run_checks"]],
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"not a QC summary ({type(error).__name__}: {error})") from None


def write_multiqc_table(summary: QcSummary, path: str | Path) -> None:
    metrics = {m for sample in summary.samples.values() for m in sample.metrics}
    columns = sorted(m for m in metrics if not is_variant_count(m))
    lines = [HEADER + "\t".join(["Sample", "verdict", "reasons", *columns])]
    for name, sample in summary.samples.items():
        flagged = [c for c in sample.checks if c.verdict != PASS]
        overall = PASS if not flagged else (FAIL if not sample_passes(flagged) else WARN)
        values = [_shown(sample.metrics.get(c)) for c in columns]
        reasons = "; ".join(c.reason for c in flagged) or "-"
        lines.append("\t".join([name, overall, reasons, *values]))
    Path(path).write_text("\n".join(lines) + "\n")


def _shown(value: float | None) -> str:
    return "NA" if value is None else f"{value:.4g}"


# a unit's share of read pairs passing fastp's filters is checked against the sample's limit
LANE_CHECKED = "pairs_passing_pct"


def read_level_qc(
    sample: str, fastp_jsons: Mapping[str, str | Path], thresholds: Mapping[str, Mapping[str, float]]
) -> tuple[FastpCounts, list[Verdict]]:
    """A sample's fastp counts (its units' reports added up) and the checks of its lanes.

    A lane can lose most of its reads and hide in a sample of several: each unit of such a sample is
    checked too (metric pairs_passing_pct.<unit>). A failing share names the filters that dropped the
    reads."""
    counts = {unit: FastpCounts.read(path) for unit, path in fastp_jsons.items()}
    total = reduce(operator.add, counts.values())
    lane_checks = []
    if len(counts) > 1 and LANE_CHECKED in thresholds:
        for unit, unit_counts in counts.items():
            metric = f"{LANE_CHECKED}.{unit}"
            lane_checks += evaluate(
                sample,
                {metric: unit_counts.metrics()[LANE_CHECKED]},
                {metric: thresholds[LANE_CHECKED]},
                no_value={metric: NO_READS},
                causes={metric: unit_counts.dropped_by()},
            )
    return total, lane_checks


def summarize_qc(
    samples: Sequence[str],
    callers: Sequence[str],
    fastp: Sequence[str],
    units: Mapping[str, Sequence[str]],
    flagstat: Sequence[str],
    mosdepth: Sequence[str],
    markdup: Sequence[str],
    variant_stats: Sequence[str],
    thresholds: Mapping[str, Mapping[str, float]],
    tsv: str | Path,
    multiqc_table: str | Path,
    summary_json: str | Path,
    verdict_files: Sequence[str | Path] = (),
    target_files: Sequence[str | Path] = (),
) -> None:
    """The summary's three files from per-sample report files (variant stats sample-major).

    `fastp` holds the units' fastp reports, sample by sample in the order of `units` (each sample's
    units); `markdup` is empty in amplicon mode (no duplicate marking); `target_files` holds, for
    targeted runs, four files per sample (seqpipe.qc.targets.target_metrics' arguments). Verdicts made
    by other steps (the demultiplexing's, e.g. too few reads; the sex check's, seqpipe.qc.sex; sample
    identity; contamination) join as they are.
    """
    metrics_by_sample = {}
    checks: list[Verdict] = []
    fastp_reports = iter(fastp)
    for i, sample in enumerate(samples):
        stats = {caller: variant_stats[i * len(callers) + j] for j, caller in enumerate(callers)}
        reads, lane_checks = read_level_qc(
            sample, {unit: next(fastp_reports) for unit in units[sample]}, thresholds
        )
        metrics = reads.metrics() | sample_metrics(
            flagstat[i], mosdepth[i], markdup[i] if markdup else None, stats
        )
        no_value = reads.no_value()
        if target_files:
            targets, unmeasured = target_metrics(*target_files[4 * i : 4 * i + 4])
            no_value |= unmeasured
            metrics |= {name: None if v is None else round(v, 4) for name, v in targets.items()}
        metrics_by_sample[sample] = metrics
        checks += evaluate(sample, metrics, thresholds, no_value, {LANE_CHECKED: reads.dropped_by()})
        checks += lane_checks
    for path in verdict_files:
        checks += read_verdicts(path)
    write_summary(QcSummary.of(metrics_by_sample, checks), tsv, multiqc_table, summary_json)


def write_summary(
    summary: QcSummary, tsv: str | Path, multiqc_table: str | Path, summary_json: str | Path
) -> None:
    write_verdicts(summary.checks(), tsv)
    write_multiqc_table(summary, multiqc_table)
    Path(summary_json).write_text(summary.to_json())
