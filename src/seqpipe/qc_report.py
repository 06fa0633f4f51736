"""The run's QC summary: verdicts per sample as qc_summary.tsv and as a MultiQC table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from seqpipe.qc_metrics import sample_metrics
from seqpipe.qc_thresholds import FAIL, PASS, WARN, Verdict, evaluate, read_tsv, sample_passes, write_tsv

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
        flagged = [v for v in verdicts if v.sample == sample and v.verdict != PASS]
        overall = PASS if not flagged else (FAIL if not sample_passes(flagged) else WARN)
        values = ["NA" if metrics[c] is None else f"{metrics[c]:.4g}" for c in columns]
        reasons = "; ".join(v.reason for v in flagged) or "-"
        lines.append("\t".join([sample, overall, reasons, *values]))
    Path(path).write_text("\n".join(lines) + "\n")


def summarize_qc(
    samples: Sequence[str],
    callers: Sequence[str],
    flagstat: Sequence[str],
    mosdepth: Sequence[str],
    markdup: Sequence[str],
    variant_stats: Sequence[str],
    thresholds: Mapping[str, Mapping[str, float]],
    tsv: str | Path,
    multiqc_table: str | Path,
    demux_verdicts: Sequence[str | Path] = (),
) -> None:
    """qc_summary.tsv and its MultiQC table from per-sample report files (variant stats sample-major).

    Verdicts of the demultiplexing stage (runs from BCL, e.g. too few reads) join the summary as they are.
    """
    metrics_by_sample = {}
    verdicts: list[Verdict] = []
    for i, sample in enumerate(samples):
        stats = {caller: variant_stats[i * len(callers) + j] for j, caller in enumerate(callers)}
        metrics = sample_metrics(flagstat[i], mosdepth[i], markdup[i], stats)
        metrics_by_sample[sample] = metrics
        verdicts += evaluate(sample, metrics, thresholds)
    for path in demux_verdicts:
        verdicts += read_tsv(path)
    write_tsv(verdicts, tsv)
    write_multiqc_table(metrics_by_sample, verdicts, multiqc_table)
