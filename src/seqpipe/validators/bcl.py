"""Structural check of an Illumina run folder (local directory or S3 prefix).

RunInfo.xml must parse; the run must be complete (RTAComplete.txt); every lane must have its
BaseCalls folder with one folder per cycle. Deep mode also requires base-call files in every cycle
folder. Decoding BCL/CBCL content belongs to the demultiplexing step (seqpipe.demux).
"""

from __future__ import annotations

import os
import re

from seqpipe.demux.errors import DemuxError
from seqpipe.demux.runinfo import parse_run_info
from seqpipe.storage.location import locate
from seqpipe.validators.integers import parse_int
from seqpipe.validators.result import ValidationResult

MAX_RUN_INFO = 1024 * 1024  # a NovaSeq X RunInfo.xml listing every tile is ~200 KB
MAX_LANES = 16  # instruments have at most 8
MAX_CYCLES = 2000  # 2 x 300 cycles and two 24-cycle indexes are the longest runs made
_CYCLE = re.compile(r"^C([0-9]+)\.1$")
_BASECALL_FILE = re.compile(r"\.(bcl|bcl\.gz|bcl\.bgzf|cbcl)$")


def is_run_folder(location: str) -> bool:
    return locate(location).join("RunInfo.xml").exists()


def check_run_folder(location: str, result: ValidationResult, deep: bool) -> None:
    folder = locate(location)
    result.format = "BCL"
    run_info_file = folder.join("RunInfo.xml")
    if not run_info_file.exists():
        result.error("RunInfo.xml missing: not an Illumina run folder")
        return
    if run_info_file.size > MAX_RUN_INFO:
        result.error(f"RunInfo.xml is {run_info_file.size:,} bytes: instruments write a few KB, not that")
        return
    with run_info_file.local_path() as local:
        result.bytes_read += os.path.getsize(local)
        try:
            run_info = parse_run_info(local)
        except DemuxError as exc:
            result.error(str(exc).replace(local, "RunInfo.xml"))
            return
    cycles = run_info.total_cycles
    if not 1 <= run_info.lane_count <= MAX_LANES or not 1 <= cycles <= MAX_CYCLES:
        # checked before the folders are listed: a lane or cycle count of 2^31 must not become a loop
        result.error(
            f"RunInfo.xml: {run_info.lane_count} lanes and {cycles} cycles are beyond any instrument "
            f"(1-{MAX_LANES} lanes, 1-{MAX_CYCLES} cycles)"
        )
        return
    result.header.details.update(
        run_id=run_info.run_id,
        flowcell=run_info.flowcell,
        instrument=run_info.instrument,
        lanes=run_info.lane_count,
        reads=[f"{r.cycles}{'i' if r.is_index else 'r'}" for r in run_info.reads],
        cycles=cycles,
    )
    if not folder.join("RTAComplete.txt").exists():
        result.error("RTAComplete.txt missing: the instrument has not finished writing the run")
    basecalls = "Data/Intensities/BaseCalls"
    for lane in range(1, run_info.lane_count + 1):
        lane_dir = f"{basecalls}/L{lane:03d}"
        entries = folder.join(lane_dir).listdir()
        if not entries:
            result.error(f"{lane_dir} missing or empty")
            continue
        present = sorted(parse_int(m.group(1)) or 0 for m in map(_CYCLE.match, entries) if m)
        missing = sorted(set(range(1, cycles + 1)) - set(present))
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
            result.error(f"{lane_dir}: {len(missing)} of {cycles} cycle folders missing (C{shown})")
        if deep:
            for cycle in present:
                if not any(
                    _BASECALL_FILE.search(name) for name in folder.join(lane_dir, f"C{cycle}.1").listdir()
                ):
                    result.error(f"{lane_dir}/C{cycle}.1 holds no base-call files")
