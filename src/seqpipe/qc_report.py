"""The QC verdicts as a MultiQC custom-content table, one row per sample."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from seqpipe.qc_thresholds import PASS, Verdict

HEADER = """# id: 'qc_verdicts'
# section_name: 'QC verdicts'
# description: 'Per-sample metrics against the configured thresholds (qc.thresholds); FAIL gives reasons.'
# plot_type: 'table'
"""


def write_multiqc_table(
    metrics_by_sample: Mapping[str, Mapping[str, float | None]], verdicts: Sequence[Verdict], path: str | Path
) -> None:
    columns = sorted({m for metrics in metrics_by_sample.values() for m in metrics})
    lines = [HEADER + "\t".join(["Sample", "verdict", "reasons", *columns])]
    for sample, metrics in metrics_by_sample.items():
        failed = [v.reason for v in verdicts if v.sample == sample and v.verdict != PASS]
        values = ["NA" if metrics[c] is None else f"{metrics[c]:.4g}" for c in columns]
        lines.append("\t".join([sample, "FAIL" if failed else PASS, "; ".join(failed) or "-", *values]))
    Path(path).write_text("\n".join(lines) + "\n")
