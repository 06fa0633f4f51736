"""Run QC for the MultiQC report: the run metrics labs read first, demultiplexing stats and thresholds.

Per lane: %>=Q30 per read and cluster density (InterOp), % passing filter (the filter files), undetermined
reads and the index-hopping estimate (the converter's output). MultiQC reads `*_mqc.tsv` files as custom
content (their `#` header says how to show them); the thresholds go to `demux_qc.tsv` with the columns of
the pipeline's QC summary.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from seqpipe.demux.collect import UNDETERMINED
from seqpipe.demux.plan import DemuxPlan
from seqpipe.demux.runinfo import RunInfo
from seqpipe.qc.verdicts import Verdict, as_warnings, evaluate, write_verdicts
from seqpipe.tsv import read_rows

QC_FILES = (
    "demux_reads_mqc.tsv",
    "demux_lanes_mqc.tsv",
    "demux_unknown_barcodes_mqc.tsv",
    "interop_lanes_mqc.tsv",
    "demux_qc.tsv",
)


def qc_files(plan: DemuxPlan) -> list[str]:
    """The run-QC files MultiQC reads; Picard's per-barcode metrics of each lane with Picard."""
    metrics = [f"L{lane.lane:03d}.barcode_metrics.txt" for lane in plan.lanes]
    return [*QC_FILES, *(metrics if plan.settings.demultiplexer == "picard" else [])]


@dataclass(frozen=True)
class LaneInterOp:
    lane: int
    clusters: float
    clusters_pf: float
    percent_pf: float
    density_k_mm2: float
    # per read (R1, I1, I2, R2), % of base calls >= Q30; None without quality metrics
    percent_q30: dict[str, float | None]


def read_labels(run_info: RunInfo) -> list[str]:
    """R1, I1, I2, R2, ...: template and index reads numbered apart, in the order of the run."""
    labels, seen = [], {"R": 0, "I": 0}
    for read in run_info.reads:
        kind = "I" if read.is_index else "R"
        seen[kind] += 1
        labels.append(f"{kind}{seen[kind]}")
    return labels


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def interop_lanes(run_folder: Path, labels: list[str]) -> tuple[list[LaneInterOp], str]:
    """Per-lane InterOp metrics, or none and the reason (older or trimmed runs lack InterOp/).

    %>=Q30 is InterOp's summary, which leaves out the last cycle of each read (as Illumina's SAV)."""
    if not (run_folder / "InterOp").is_dir():
        return [], f"no InterOp folder in {run_folder}"
    from interop import py_interop_run, py_interop_run_metrics, py_interop_summary

    metrics = py_interop_run_metrics.run_metrics()
    wanted = py_interop_run.uchar_vector(py_interop_run.MetricCount, 0)
    py_interop_run_metrics.list_summary_metrics_to_load(wanted)
    try:
        metrics.read(str(run_folder), wanted)
        summary = py_interop_summary.run_summary()
        py_interop_summary.summarize_run_metrics(metrics, summary)
    except Exception as exc:  # the library raises its own exception types per file problem
        return [], f"InterOp files in {run_folder} could not be read ({str(exc).splitlines()[0]})"
    if summary.size() == 0:
        return [], "InterOp files hold no metrics"
    lanes = []
    for index in range(summary.lane_count()):
        lane = summary.at(0).at(index)  # tile metrics are the same for every read
        q30 = {label: _finite(summary.at(r).at(index).percent_gt_q30()) for r, label in enumerate(labels)}
        lanes.append(
            LaneInterOp(
                lane.lane(),
                lane.reads(),
                lane.reads_pf(),
                lane.percent_pf().mean(),
                lane.density().mean() / 1000,
                q30,
            )
        )
    return lanes, ""


def _mqc(path: Path, meta: dict[str, object], header: list[str], rows: list[list[object]]) -> None:
    lines = [f"# {key}: {json.dumps(value)}" for key, value in meta.items()]  # JSON is valid YAML
    lines.append("\t".join(header))
    lines += ["\t".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def write_demux_qc(plan: DemuxPlan, lane_dirs: list[Path], qc_dir: Path) -> None:
    qc_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, dict[int, int]] = defaultdict(dict)
    for lane_dir in lane_dirs:
        for row in read_rows(lane_dir / "counts.tsv", ("sample", "lane", "reads")):
            counts[row["sample"]][int(row["lane"])] = int(row["reads"])
        metrics = lane_dir / "barcode_metrics.txt"
        if metrics.is_file():  # Picard's own metrics: MultiQC's Picard module reads them
            shutil.copyfile(metrics, qc_dir / f"{lane_dir.name}.barcode_metrics.txt")
    lanes = sorted({lane for per_lane in counts.values() for lane in per_lane})
    lane_totals = {lane: sum(per_lane.get(lane, 0) for per_lane in counts.values()) for lane in lanes}

    _mqc(
        qc_dir / "demux_reads_mqc.tsv",
        {
            "id": "demux_reads",
            "section_name": "Demultiplexing: read pairs per sample",
            "description": f"Read pairs per sample and lane ({plan.settings.demultiplexer})",
            "plot_type": "bargraph",
            "pconfig": {"id": "demux_reads_plot", "ylab": "Read pairs"},
        },
        ["Sample", *[f"L{lane:03d}" for lane in lanes]],
        [[sample, *[per_lane.get(lane, 0) for lane in lanes]] for sample, per_lane in counts.items()],
    )
    hopping = {
        int(row["lane"]): row
        for lane_dir in lane_dirs
        for row in read_rows(lane_dir / "index_hopping.tsv", ("lane", "index_hops", "assigned"))
    }
    lane_rows: list[list] = []
    verdicts: list[Verdict] = []
    for lane in lanes:
        undetermined = counts.get(UNDETERMINED, {}).get(lane, 0)
        total = lane_totals[lane]
        percent = 100 * undetermined / total if total else 0.0
        hops = hopping[lane]["index_hops"]
        both_valid = int(hops) + int(hopping[lane]["assigned"]) if hops != "NA" else 0
        hop_percent = 100 * int(hops) / both_valid if both_valid else None
        passing = plan.check.lanes[lane]
        pf_percent = 100 * passing.passing_filter / passing.clusters if passing.clusters else 0.0
        lane_rows.append(
            [f"L{lane:03d}", total, total - undetermined, undetermined, f"{percent:.2f}", hops,
             "n/a" if hop_percent is None else f"{hop_percent:.3f}", f"{pf_percent:.2f}"]
        )  # fmt: skip
        warn_above = {
            "percent_undetermined": {"max": plan.settings.max_undetermined_percent},
            "percent_index_hopping": {"max": plan.settings.max_index_hopping_percent},
        }
        if hop_percent is None:
            del warn_above["percent_index_hopping"]  # single index: hops cannot be seen
        measured = {"percent_undetermined": percent, "percent_index_hopping": hop_percent}
        verdicts += as_warnings(evaluate(f"L{lane:03d}", measured, warn_above))
        verdicts += evaluate(
            f"L{lane:03d}", {"percent_pf": pf_percent}, {"percent_pf": {"min": plan.settings.min_percent_pf}}
        )
    _mqc(
        qc_dir / "demux_lanes_mqc.tsv",
        {
            "id": "demux_lanes",
            "section_name": "Demultiplexing: lanes",
            "description": "Read pairs passing filter per lane, assigned to samples or undetermined; "
            "index hops: undetermined reads with one sample's i7 and another's i5, as % of those plus "
            "the assigned reads; % PF from the filter files",
            "plot_type": "table",
        },
        ["Lane", "Read pairs", "Assigned", "Undetermined", "% undetermined", "Index hops", "% index hopping",
         "% PF"],
        lane_rows,
    )  # fmt: skip
    unknown_rows = []
    for lane_dir in lane_dirs:
        unknown = read_rows(lane_dir / "unknown_barcodes.tsv", ("lane", "reads"))
        for rank, row in enumerate(unknown, start=1):
            unknown_rows.append(
                [f"L{int(row['lane']):03d} #{rank}", row.get("barcode", "(none)"), row["reads"]]
            )
    _mqc(
        qc_dir / "demux_unknown_barcodes_mqc.tsv",
        {
            "id": "demux_unknown_barcodes",
            "section_name": "Demultiplexing: top unknown barcodes",
            "description": "Most frequent barcodes among the undetermined reads, per lane",
            "plot_type": "table",
        },
        ["Rank", "Barcode", "Read pairs"],
        unknown_rows,
    )
    labels = read_labels(plan.run_info)
    interop, why_not = interop_lanes(plan.run_folder, labels)
    instrument = plan.instrument.model or plan.run_info.instrument
    _mqc(
        qc_dir / "interop_lanes_mqc.tsv",
        {
            "id": "interop_lanes",
            "section_name": "Sequencing run (InterOp)",
            "description": why_not
            or f"Illumina InterOp metrics of run {plan.run_info.run_id} ({instrument}); %>=Q30 leaves out "
            "the last cycle of each read, as Illumina's SAV does",
            "plot_type": "table",
        },
        [
            "Lane",
            "Clusters",
            "Clusters PF",
            "% PF",
            "Density (K/mm2)",
            *[f"% >=Q30 {label}" for label in labels],
        ],
        [
            [
                f"L{m.lane:03d}",
                int(m.clusters),
                int(m.clusters_pf),
                f"{m.percent_pf:.2f}",
                f"{m.density_k_mm2:.1f}",
                *[
                    "n/a" if m.percent_q30[label] is None else f"{m.percent_q30[label]:.2f}"
                    for label in labels
                ],
            ]
            for m in interop
        ],
    )
    verdicts += _interop_verdicts(plan, lanes, labels, {m.lane: m for m in interop}, why_not)
    minimum = {"demux_read_pairs": {"min": plan.settings.min_reads}}
    verdicts.sort(key=lambda v: (v.sample, v.metric))
    for sample in plan.sample_ids():
        reads = sum(counts.get(sample, {}).values())
        verdicts += evaluate(sample, {"demux_read_pairs": reads}, minimum)
    write_verdicts(verdicts, qc_dir / "demux_qc.tsv")


def _interop_verdicts(
    plan: DemuxPlan, lanes: list[int], labels: list[str], interop: dict[int, LaneInterOp], why_not: str
) -> list[Verdict]:
    """%>=Q30 per read and the density, per lane, against demux.*; unmeasured ones warn with the reason."""
    settings = plan.settings
    density = {
        key: value
        for key, value in (("min", settings.min_density_k_mm2), ("max", settings.max_density_k_mm2))
        if value is not None
    }
    verdicts: list[Verdict] = []
    for lane in lanes:
        measured = interop.get(lane)
        q30 = measured.percent_q30 if measured else {}
        metrics: dict[str, float | None] = {f"percent_q30_{label}": q30.get(label) for label in labels}
        limits = {metric: {"min": settings.min_percent_q30} for metric in metrics}
        if density:
            metrics["density_k_mm2"] = measured.density_k_mm2 if measured else None
            limits["density_k_mm2"] = density
        why = why_not or "InterOp has no quality metrics (QMetricsOut.bin) for this lane"
        found = {m: v for m, v in metrics.items() if v is not None}
        verdicts += evaluate(f"L{lane:03d}", found, {m: limits[m] for m in found})
        missing = {m: limits[m] for m in metrics if m not in found}
        verdicts += as_warnings(evaluate(f"L{lane:03d}", {}, missing, {m: why for m in missing}))
    return verdicts
