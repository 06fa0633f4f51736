"""Command lines of the three demultiplexers for one lane, and Picard's barcode and multiplex tables.

Every converter writes into a per-lane work folder; `seqpipe.demux.collect` then moves the FASTQs to
their final names, so a failed or interrupted conversion never leaves a complete-looking FASTQ behind.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from seqpipe.demux.plan import UNDETERMINED, DemuxPlan, LanePlan

# Debian's launcher is PicardCommandLine; the bioconda package (envs/picard.yaml) names it `picard`.
FIND_PICARD = "PICARD=$(command -v PicardCommandLine || command -v picard)"


def lane_dir(plan: DemuxPlan, lane: int) -> str:
    return f"{plan.outdir}/demux/L{lane:03d}"


def work_dir(plan: DemuxPlan, lane: int) -> str:
    return f"{lane_dir(plan, lane)}/work"


def staged_run_folder(plan: DemuxPlan) -> str:
    return f"{plan.outdir}/demux/staged_run"


def input_run_folder(plan: DemuxPlan) -> str:
    """The staged copy when locs headers had to be corrected, else the instrument's folder."""
    return staged_run_folder(plan) if plan.check.locs_fixes else str(plan.run_folder)


def _dual(lane: LanePlan) -> bool:
    return any(bc2 for _, _, bc2 in lane.barcodes)


def barcode_table(lane: LanePlan) -> str:
    """ExtractIlluminaBarcodes' BARCODE_FILE."""
    dual = _dual(lane)
    header = ["barcode_sequence_1", *(["barcode_sequence_2"] if dual else []), "barcode_name", "library_name"]
    rows = [[bc1, *([bc2] if dual else []), sample, sample] for sample, bc1, bc2 in lane.barcodes]
    return "\n".join("\t".join(r) for r in [header, *rows]) + "\n"


def multiplex_table(lane: LanePlan, prefix_dir: str) -> str:
    """IlluminaBasecallsToFastq's MULTIPLEX_PARAMS; the all-N row collects the reads that match no sample."""
    dual = _dual(lane)
    header = ["OUTPUT_PREFIX", "BARCODE_1", *(["BARCODE_2"] if dual else [])]
    rows = [[f"{prefix_dir}/{sample}", bc1, *([bc2] if dual else [])] for sample, bc1, bc2 in lane.barcodes]
    rows.append([f"{prefix_dir}/{UNDETERMINED}", "N", *(["N"] if dual else [])])
    return "\n".join("\t".join(r) for r in [header, *rows]) + "\n"


def _join(argv: list[str]) -> str:
    # "$PICARD" is the launcher found at run time (FIND_PICARD), so it must stay expandable.
    return " ".join(f'"{a}"' if a == "$PICARD" else shlex.quote(a) for a in argv)


def write_tables(argv: list[str] | None = None) -> None:
    """`python -m seqpipe.demux.commands`: write a lane's Picard tables (part of the convert job)."""
    parser = argparse.ArgumentParser(description=write_tables.__doc__)
    parser.add_argument("--lane", type=int, required=True)
    parser.add_argument("--prefix-dir", required=True)
    parser.add_argument("--barcodes-out", type=Path, required=True)
    parser.add_argument("--multiplex-out", type=Path, required=True)
    parser.add_argument(
        "--barcode", nargs=3, action="append", metavar=("SAMPLE", "INDEX1", "INDEX2"), default=[]
    )
    args = parser.parse_args(argv)
    lane = LanePlan(args.lane, (), "", tuple(tuple(b) for b in args.barcode))
    args.barcodes_out.write_text(barcode_table(lane))
    args.multiplex_out.write_text(multiplex_table(lane, args.prefix_dir))


def picard_commands(
    basecalls: str,
    lane: int,
    read_structure: str,
    barcode_file: str,
    multiplex_file: str,
    barcodes_dir: str,
    metrics_file: str,
    run_barcode: str,
    machine: str,
    flowcell: str,
    mismatches: int,
    threads: int,
    include_non_pf: bool = False,
    apply_eamss: bool = False,
) -> list[list[str]]:
    """Arguments of ExtractIlluminaBarcodes then IlluminaBasecallsToFastq (after the Picard launcher).

    Barcode files go to barcodes_dir, never into the run folder (it may be read-only or shared).
    Like bcl2fastq and bcl-convert (unlike Picard's defaults), clusters failing the chastity filter are
    dropped and base qualities are written as called (no EAMSS masking of read ends to Q2).
    """
    common = [f"BASECALLS_DIR={basecalls}", f"LANE={lane}", f"READ_STRUCTURE={read_structure}"]
    return [
        ["ExtractIlluminaBarcodes", *common, f"BARCODE_FILE={barcode_file}",
         f"OUTPUT_DIR={barcodes_dir}", f"METRICS_FILE={metrics_file}", f"MAX_MISMATCHES={mismatches}",
         f"NUM_PROCESSORS={threads}", "COMPRESS_OUTPUTS=true"],
        ["IlluminaBasecallsToFastq", *common, f"BARCODES_DIR={barcodes_dir}",
         f"MULTIPLEX_PARAMS={multiplex_file}", f"RUN_BARCODE={run_barcode}", f"MACHINE_NAME={machine}",
         f"FLOWCELL_BARCODE={flowcell}", "READ_NAME_FORMAT=CASAVA_1_8", "COMPRESS_OUTPUTS=true",
         f"INCLUDE_NON_PF_READS={str(include_non_pf).lower()}", f"NUM_PROCESSORS={threads}",
         f"APPLY_EAMSS_FILTER={str(apply_eamss).lower()}", f"TMP_DIR={barcodes_dir}"],
    ]  # fmt: skip


def convert_command(plan: DemuxPlan, lane: LanePlan, threads: int) -> str:
    """The conversion of one lane into its work folder (in the tool's conda env or container)."""
    work = work_dir(plan, lane.lane)
    run_folder = input_run_folder(plan)
    tool = plan.settings.demultiplexer
    if tool == "picard":
        steps = picard_commands(
            basecalls=f"{run_folder}/Data/Intensities/BaseCalls",
            lane=lane.lane,
            read_structure=lane.read_structure,
            barcode_file=f"{work}/barcodes.tsv",
            multiplex_file=f"{work}/multiplex.tsv",
            barcodes_dir=f"{work}/barcodes",
            metrics_file=f"{work}/barcode_metrics.txt",
            run_barcode=str(plan.run_info.run_number),
            machine=plan.run_info.instrument,
            flowcell=plan.run_info.flowcell,
            mismatches=plan.settings.barcode_mismatches,
            threads=threads,
        )
        tables = [
            sys.executable, "-m", "seqpipe.demux.commands", "--lane", str(lane.lane),
            "--prefix-dir", f"{work}/fastq", "--barcodes-out", f"{work}/barcodes.tsv",
            "--multiplex-out", f"{work}/multiplex.tsv",
            *[a for barcode in lane.barcodes for a in ("--barcode", *barcode)],
        ]  # fmt: skip
        prepare = [
            f"mkdir -p {shlex.quote(work)}/barcodes {shlex.quote(work)}/fastq",
            _join(tables),
            FIND_PICARD,
        ]
        steps = [["$PICARD", *step] for step in steps]
    elif tool == "bcl-convert":
        steps = [
            ["bcl-convert", "--bcl-input-directory", run_folder, "--output-directory", f"{work}/out",
             "--sample-sheet", str(plan.sample_sheet), "--bcl-only-lane", str(lane.lane),
             "--bcl-sampleproject-subdirectories", "false", "--bcl-num-conversion-threads", str(threads),
             "--bcl-num-compression-threads", str(threads), "--bcl-num-decompression-threads", str(threads),
             "--force"],
        ]  # fmt: skip
        prepare = [f"mkdir -p {shlex.quote(work)}"]
    else:
        steps = [
            ["bcl2fastq", "--runfolder-dir", run_folder, "--output-dir", f"{work}/out",
             "--sample-sheet", str(plan.sample_sheet), "--tiles", f"s_{lane.lane}_",
             "--barcode-mismatches", str(plan.settings.barcode_mismatches), "--loading-threads", "1",
             "--processing-threads", str(threads), "--writing-threads", "1"],
        ]  # fmt: skip
        prepare = [f"mkdir -p {shlex.quote(work)}"]
    # The user's extra options go to the converting step (Picard: IlluminaBasecallsToFastq).
    commands = [_join(step) for step in steps]
    if plan.settings.extra:
        commands[-1] += f" {plan.settings.extra}"
    return " && ".join([*prepare, *commands])


def qc_command(plan: DemuxPlan, config: dict[str, Any]) -> str:
    """Run-QC files for MultiQC from every lane's counts."""
    settings = json.dumps({key: config.get(key) for key in ("run_folder", "demux", "outdir")}, sort_keys=True)
    argv = [
        sys.executable, "-m", "seqpipe.demux.qc", "--config", settings, "--qc-dir", f"{plan.outdir}/qc/demux",
        *[lane_dir(plan, lane.lane) for lane in plan.lanes],
    ]  # fmt: skip
    return _join(argv)


def collect_command(plan: DemuxPlan, lane: LanePlan) -> str:
    """Final FASTQ names, md5 files and read counts from a lane's work folder (seqpipe's own Python)."""
    argv = [
        sys.executable, "-m", "seqpipe.demux.collect",
        "--layout", "picard" if plan.settings.demultiplexer == "picard" else "illumina",
        "--work", work_dir(plan, lane.lane), "--lane", str(lane.lane),
        "--fastq-dir", f"{plan.outdir}/fastq", "--stats-dir", lane_dir(plan, lane.lane),
        "--reads", str(len(plan.reads)), *[a for s in lane.sample_ids for a in ("--sample", s)],
    ]  # fmt: skip
    return _join(argv)


if __name__ == "__main__":
    write_tables()
