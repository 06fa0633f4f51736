"""The pipeline's QC files for the data-plane tests, made by the pipeline's own step.

Each sample gets real tool reports of NA12878 (tests/dataplane/data, see its README) under the
pipeline's names, and seqpipe.qc.summary.summarize_qc, the summarize_qc rule's step, writes the run's
summary from them, so the Lambda reads what a real run leaves in its output prefix.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
# the checkout's package, as scripts/workflow_step.py puts it first for the workflow's own steps
sys.path.insert(0, str(HERE.parents[2] / "src"))

from seqpipe.qc.summary import summarize_qc  # noqa: E402

CALLER = "bcftools"
LOW_DEPTH = "5.00"


def _low_depth(mosdepth_summary: str) -> str:
    """mosdepth's summary with a genome-wide mean depth (the 'total' row) of LOW_DEPTH."""
    lines = []
    for line in mosdepth_summary.splitlines():
        fields = line.split("\t")
        if fields[0] == "total":
            fields[3] = LOW_DEPTH
        lines.append("\t".join(fields))
    return "\n".join(lines) + "\n"


def write_qc(
    outdir: Path, samples: list[str], low_depth: set[str], thresholds: Mapping[str, Mapping[str, float]]
) -> None:
    """outdir/qc/ as the pipeline leaves it: every sample's reports and the summary of the run."""
    qc = outdir / "qc"
    reports: dict[str, list[str]] = {"fastp": [], "flagstat": [], "mosdepth": [], "markdup": [], "stats": []}
    for sample in samples:
        places = {
            "fastp": (qc / "fastp" / f"{sample}.L001.fastp.json", "NA12878.fastp.json"),
            "flagstat": (qc / "samtools" / f"{sample}.flagstat", "NA12878.flagstat"),
            "mosdepth": (qc / "mosdepth" / f"{sample}.mosdepth.summary.txt", "NA12878.mosdepth.summary.txt"),
            "markdup": (qc / "markdup" / f"{sample}.markdup.txt", "NA12878.markdup.txt"),
            "stats": (qc / "bcftools" / f"{sample}.{CALLER}.stats", "NA12878.bcftools.stats"),
        }
        for kind, (target, source) in places.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            if kind == "mosdepth" and sample in low_depth:
                target.write_text(_low_depth((DATA / source).read_text()))
            else:
                shutil.copyfile(DATA / source, target)
            reports[kind].append(str(target))
    summarize_qc(
        samples,
        [CALLER],
        reports["fastp"],
        {sample: ["L001"] for sample in samples},
        reports["flagstat"],
        reports["mosdepth"],
        reports["markdup"],
        reports["stats"],
        thresholds,
        qc / "qc_summary.tsv",
        qc / "qc_summary_mqc.tsv",
        qc / "qc_summary.json",
    )
