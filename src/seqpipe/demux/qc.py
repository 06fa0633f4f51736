"""Run QC for the MultiQC report: InterOp metrics, demultiplexing stats and thresholds.

MultiQC reads `*_mqc.tsv` files as custom content (their `#` header says how to show them); the
thresholds go to `demux_qc.tsv` with the columns of the pipeline's QC summary.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from seqpipe.demux.plan import UNDETERMINED, DemuxPlan
from seqpipe.qc.verdicts import Verdict, as_warnings, evaluate, write_verdicts
from seqpipe.tsv import read_rows

QC_FILES = (
    "demux_reads_mqc.tsv",
    "demux_lanes_mqc.tsv",
    "demux_unknown_barcodes_mqc.tsv",
    "interop_lanes_mqc.tsv",
    "demux_qc.tsv",
)


@dataclass(frozen=True)
class LaneInterOp:
    lane: int
    clusters: float
    clusters_pf: float
    percent_pf: float
    density_k_mm2: float


def interop_lanes(run_folder: Path) -> tuple[list[LaneInterOp], str]:
    """Per-lane InterOp tile metrics, or none and the reason (older or trimmed runs lack InterOp/)."""
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
        lanes.append(
            LaneInterOp(
                lane.lane(),
                lane.reads(),
                lane.reads_pf(),
                lane.percent_pf().mean(),
                lane.density().mean() / 1000,
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
    lane_rows: list[list] = []
    verdicts: list[Verdict] = []
    for lane in lanes:
        undetermined = counts.get(UNDETERMINED, {}).get(lane, 0)
        total = lane_totals[lane]
        percent = 100 * undetermined / total if total else 0.0
        lane_rows.append([f"L{lane:03d}", total, total - undetermined, undetermined, f"{percent:.2f}"])
        limit = {"percent_undetermined": {"max": plan.settings.max_undetermined_percent}}
        verdicts += as_warnings(evaluate(f"L{lane:03d}", {"percent_undetermined": percent}, limit))
    _mqc(
        qc_dir / "demux_lanes_mqc.tsv",
        {
            "id": "demux_lanes",
            "section_name": "Demultiplexing: lanes",
            "description": "Read pairs passing filter per lane, assigned to samples or undetermined",
            "plot_type": "table",
        },
        ["Lane", "Read pairs", "Assigned", "Undetermined", "% undetermined"],
        lane_rows,
    )
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
    interop, why_not = interop_lanes(plan.run_folder)
    _mqc(
        qc_dir / "interop_lanes_mqc.tsv",
        {
            "id": "interop_lanes",
            "section_name": "Sequencing run (InterOp)",
            "description": why_not or f"Illumina InterOp tile metrics of run {plan.run_info.run_id}",
            "plot_type": "table",
        },
        ["Lane", "Clusters", "Clusters PF", "% PF", "Density (K/mm2)"],
        [
            [
                f"L{m.lane:03d}",
                int(m.clusters),
                int(m.clusters_pf),
                f"{m.percent_pf:.2f}",
                f"{m.density_k_mm2:.1f}",
            ]
            for m in interop
        ],
    )
    minimum = {"demux_read_pairs": {"min": plan.settings.min_reads}}
    for sample in plan.sample_ids():
        reads = sum(counts.get(sample, {}).values())
        verdicts += evaluate(sample, {"demux_read_pairs": reads}, minimum)
    write_verdicts(verdicts, qc_dir / "demux_qc.tsv")
