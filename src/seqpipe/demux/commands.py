"""Command lines of the three demultiplexers for one lane, and Picard's barcode and multiplex tables.

Every converter writes into a per-lane work folder; `seqpipe.demux.collect` then moves the FASTQs to
their final names, so a failed or interrupted conversion never leaves a complete-looking FASTQ behind.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from seqpipe.demux.collect import UNDETERMINED
from seqpipe.demux.plan import DemuxPlan, LanePlan

# (sample ID, Index1 as read, Index2 as read or ""), as in LanePlan.barcodes
Barcodes = Sequence[tuple[str, str, str]]

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


def _dual(barcodes: Barcodes) -> bool:
    return any(bc2 for _, _, bc2 in barcodes)


def barcode_table(barcodes: Barcodes) -> str:
    """ExtractIlluminaBarcodes' BARCODE_FILE."""
    dual = _dual(barcodes)
    header = ["barcode_sequence_1", *(["barcode_sequence_2"] if dual else []), "barcode_name", "library_name"]
    rows = [[bc1, *([bc2] if dual else []), sample, sample] for sample, bc1, bc2 in barcodes]
    return "\n".join("\t".join(r) for r in [header, *rows]) + "\n"


def multiplex_rows(barcodes: Barcodes, prefix_dir: str) -> list[list[str]]:
    """IlluminaBasecallsToFastq's MULTIPLEX_PARAMS; the all-N row collects the reads that match no sample."""
    dual = _dual(barcodes)
    header = ["OUTPUT_PREFIX", "BARCODE_1", *(["BARCODE_2"] if dual else [])]
    rows = [[f"{prefix_dir}/{sample}", bc1, *([bc2] if dual else [])] for sample, bc1, bc2 in barcodes]
    return [header, *rows, [f"{prefix_dir}/{UNDETERMINED}", "N", *(["N"] if dual else [])]]


def multiplex_table(barcodes: Barcodes, prefix_dir: str) -> str:
    return "".join("\t".join(row) + "\n" for row in multiplex_rows(barcodes, prefix_dir))


def _printf_table(rows: list[list[str]], path: str) -> str:
    """A shell command writing a tab-separated table, on one line (printf repeats its format per row)."""
    row_format = "\\t".join(["%s"] * len(rows[0])) + "\\n"
    cells = " ".join(shlex.quote(cell) for row in rows for cell in row)
    return f"printf '{row_format}' {cells} > {shlex.quote(path)}"


def picard_fastq_dir(plan: DemuxPlan, lane: int) -> str:
    """Where Picard writes a lane's FASTQs (the multiplex table's output prefixes)."""
    return f"{work_dir(plan, lane)}/fastq"


def _join(argv: list[str]) -> str:
    # "$PICARD" is the launcher found at run time (FIND_PICARD), so it must stay expandable.
    return " ".join(f'"{a}"' if a == "$PICARD" else shlex.quote(a) for a in argv)


def picard_commands(
    basecalls: str,
    lane: int,
    read_structure: str,
    multiplex_file: str,
    metrics_file: str,
    tmp_dir: str,
    run_barcode: str,
    machine: str,
    flowcell: str,
    mismatches: int,
    threads: int,
    include_non_pf: bool = False,
    apply_eamss: bool = False,
    barcode_file: str | None = None,
) -> list[list[str]]:
    """Picard's arguments (after the launcher) to convert one lane into the multiplex table's FASTQs.

    Without ``barcode_file``, one pass: IlluminaBasecallsToFastq matches barcodes as it reads the base
    calls (MATCH_BARCODES_INLINE) and writes each tile's clusters in the instrument's order, as bcl-convert
    does, instead of sorting them by name (SORT=false); its per-barcode metrics go to ``metrics_file``.
    With ``barcode_file``, Picard's classic two steps with its defaults, as a person runs it by hand:
    ExtractIlluminaBarcodes writes per-tile barcode files into ``tmp_dir`` (never into the run folder: it
    may be read-only or shared) and its metrics, then IlluminaBasecallsToFastq reads them and sorts.
    Like bcl2fastq and bcl-convert (unlike Picard's defaults), clusters failing the chastity filter are
    dropped and base qualities are written as called (no EAMSS masking of read ends to Q2).
    """
    common = [f"BASECALLS_DIR={basecalls}", f"LANE={lane}", f"READ_STRUCTURE={read_structure}"]
    convert = ["IlluminaBasecallsToFastq", *common,
               f"MULTIPLEX_PARAMS={multiplex_file}", f"RUN_BARCODE={run_barcode}", f"MACHINE_NAME={machine}",
               f"FLOWCELL_BARCODE={flowcell}", "READ_NAME_FORMAT=CASAVA_1_8", "COMPRESS_OUTPUTS=true",
               f"INCLUDE_NON_PF_READS={str(include_non_pf).lower()}", f"NUM_PROCESSORS={threads}",
               f"APPLY_EAMSS_FILTER={str(apply_eamss).lower()}", f"TMP_DIR={tmp_dir}"]  # fmt: skip
    if barcode_file is None:
        return [[*convert, "MATCH_BARCODES_INLINE=true", f"MAX_MISMATCHES={mismatches}",
                 f"METRICS_FILE={metrics_file}", "SORT=false"]]  # fmt: skip
    extract = ["ExtractIlluminaBarcodes", *common, f"BARCODE_FILE={barcode_file}", f"OUTPUT_DIR={tmp_dir}",
               f"METRICS_FILE={metrics_file}", f"MAX_MISMATCHES={mismatches}", f"NUM_PROCESSORS={threads}",
               "COMPRESS_OUTPUTS=true"]  # fmt: skip
    return [extract, [*convert, f"BARCODES_DIR={tmp_dir}"]]


def convert_command(plan: DemuxPlan, lane: LanePlan, threads: int) -> str:
    """The conversion of one lane into its work folder (in the tool's conda env or container).

    Picard's multiplex table is written by the command itself, into the work folder.
    """
    work = work_dir(plan, lane.lane)
    run_folder = input_run_folder(plan)
    tool = plan.settings.demultiplexer
    if tool == "picard":
        multiplex_file = f"{work}/multiplex.tsv"
        steps = picard_commands(
            basecalls=f"{run_folder}/Data/Intensities/BaseCalls",
            lane=lane.lane,
            read_structure=lane.read_structure,
            multiplex_file=multiplex_file,
            metrics_file=f"{work}/barcode_metrics.txt",
            tmp_dir=f"{work}/tmp",
            run_barcode=str(plan.run_info.run_number),
            machine=plan.run_info.instrument,
            flowcell=plan.run_info.flowcell,
            mismatches=plan.settings.barcode_mismatches,
            threads=threads,
        )
        fastq_dir = picard_fastq_dir(plan, lane.lane)
        prepare = [
            f"mkdir -p {shlex.quote(work)}/tmp {shlex.quote(fastq_dir)}",
            _printf_table(multiplex_rows(lane.barcodes, fastq_dir), multiplex_file),
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


def picard_by_hand(plan: DemuxPlan, work: Path, threads: int, one_pass: bool = False) -> str:
    """Picard run by hand on the whole run, lane after lane, in `work/L<n>`: Picard's classic two steps
    with its defaults, or (``one_pass``) the pipeline's own one-pass command.

    The reference the pipeline's demux stage is measured and checked against (same tables, same options).
    """
    scripts = []
    for lane in plan.lanes:
        lane_work = work / f"L{lane.lane}"
        (lane_work / "tmp").mkdir(parents=True)
        (lane_work / "fastq").mkdir()
        (lane_work / "multiplex.tsv").write_text(multiplex_table(lane.barcodes, str(lane_work / "fastq")))
        if not one_pass:  # ExtractIlluminaBarcodes' input
            (lane_work / "barcodes.tsv").write_text(barcode_table(lane.barcodes))
        steps = picard_commands(
            basecalls=f"{plan.run_folder}/Data/Intensities/BaseCalls",
            lane=lane.lane,
            read_structure=lane.read_structure,
            multiplex_file=str(lane_work / "multiplex.tsv"),
            metrics_file=str(lane_work / "metrics.txt"),
            tmp_dir=str(lane_work / "tmp"),
            run_barcode=str(plan.run_info.run_number),
            machine=plan.run_info.instrument,
            flowcell=plan.run_info.flowcell,
            mismatches=plan.settings.barcode_mismatches,
            threads=threads,
            barcode_file=None if one_pass else str(lane_work / "barcodes.tsv"),
        )
        scripts += [_join(["$PICARD", *step]) for step in steps]
    return " && ".join([FIND_PICARD, *scripts])
