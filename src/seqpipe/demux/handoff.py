"""The demultiplexed FASTQs as the germline pipeline's samples and units (samples.tsv / units.tsv)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seqpipe.demux.errors import DemuxError
from seqpipe.demux.plan import DemuxPlan, load_plan
from seqpipe.demux.qc import qc_files
from seqpipe.tsv import read_rows


def workflow_plan(config: dict[str, Any]) -> DemuxPlan:
    """The demux plan; problems become a WorkflowError, which Snakemake prints as a message."""
    try:
        return load_plan(config)
    except DemuxError as error:
        from snakemake.exceptions import WorkflowError

        raise WorkflowError(f"demultiplexing cannot start:\n{error}") from None


def _annotations(config: dict[str, Any]) -> dict[str, dict[str, str]]:
    """group/sex by sample from a samples.tsv given beside run_folder (the sample sheet has neither)."""
    path = config.get("samples")
    if not path or not Path(path).is_file():
        return {}
    return {row["sample"]: row for row in read_rows(path, ("sample",)) if "sample" in row}


def samples_and_units(config: dict[str, Any]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(samples, units) as rows of samples.tsv and units.tsv; fq1/fq2 are demux outputs."""
    plan = workflow_plan(config)
    annotations = _annotations(config)

    def annotation(sample: str, column: str, default: str) -> str:
        return annotations.get(sample, {}).get(column, default)

    samples = [
        {
            "sample": sample,
            "group": annotation(sample, "group", plan.run_info.run_id),
            "sex": annotation(sample, "sex", ""),
        }
        for sample in plan.sample_ids()
    ]
    units = [
        {
            "sample": sample,
            "unit": f"L{lane.lane:03d}",
            "fq1": plan.fastq(sample, lane.lane, 1),
            "fq2": plan.fastq(sample, lane.lane, 2) if plan.paired else "",
            "platform": "ILLUMINA",
            "library": sample,
        }
        for lane in plan.lanes
        for sample in lane.sample_ids
    ]
    return samples, units


def qc_outputs(plan: DemuxPlan) -> list[str]:
    """The run-QC files: the demux_qc rule's outputs and the MultiQC rule's inputs."""
    return [f"{plan.outdir}/qc/demux/{name}" for name in qc_files(plan)]
