"""Which way the sample sheet's i5 (Index2) is to be matched, and a look at the index reads to confirm it.

Instruments read i5 either as the forward strand of the adapter (forward-strand workflow) or as its
reverse complement, by model and chemistry (Illumina's index orientation guide). What a sheet lists
depends on the software it was written for, and this module decides as BCL Convert does:
- a BCL Convert v2 sheet lists i5 in forward orientation; the converter reverse-complements it when
  RunInfo.xml marks the Index2 read IsReverseComplement="Y" (NextSeq 1000/2000, NovaSeq X);
- a v1 (IEM, bcl2fastq) sheet or a plain barcode table lists i5 as the instrument reads it, and a v2 sheet
  does too on instruments whose RunInfo has no such mark (NovaSeq 6000 v1.5, NextSeq 500/550, ...).
`demux.index2_reverse_complement: true|false` overrides the rule. Before any job, the index cycles of the
first tiles are decoded: when almost no cluster matches a sample as planned while most would with i5
reverse-complemented, the run stops with a message naming the override instead of yielding empty samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqpipe.demux.basecalls import filter_mask, tile_calls
from seqpipe.demux.errors import DemuxError
from seqpipe.demux.runfolder import basecalls_dir
from seqpipe.demux.runinfo import RunInfo, RunParameters
from seqpipe.demux.samplesheet import SampleSheet

FORWARD, REVERSE_COMPLEMENT = "forward", "reverse complement"
# Instrument ID prefixes (RunInfo <Instrument>), longest first; NovaSeq 6000 depends on its reagents.
_MODELS: tuple[tuple[str, str, str], ...] = (
    ("LH", "NovaSeq X", REVERSE_COMPLEMENT),
    ("VH", "NextSeq 1000/2000", REVERSE_COMPLEMENT),
    ("VL", "NextSeq 1000/2000", REVERSE_COMPLEMENT),
    ("FS", "iSeq 100", REVERSE_COMPLEMENT),
    ("MN", "MiniSeq", REVERSE_COMPLEMENT),
    ("NB", "NextSeq 500/550", REVERSE_COMPLEMENT),
    ("NS", "NextSeq 500/550", REVERSE_COMPLEMENT),
    ("SN", "HiSeq 2000/2500", FORWARD),
    ("ST", "HiSeq X", REVERSE_COMPLEMENT),
    ("A", "NovaSeq 6000", ""),
    ("D", "HiSeq 2000/2500", FORWARD),
    ("E", "HiSeq X", REVERSE_COMPLEMENT),
    ("J", "HiSeq 3000/4000", REVERSE_COMPLEMENT),
    ("K", "HiSeq 3000/4000", REVERSE_COMPLEMENT),
    ("M", "MiSeq", FORWARD),
)
_NOVASEQ_V15_SBS = 3  # RunParameters <SbsConsumableVersion>: 1 = v1.0 reagents, 3 = v1.5
SAMPLED_CLUSTERS = 10_000  # from the first tiles of each lane
# "Almost all undetermined while the reverse complement would match": fractions of the sampled clusters.
MAX_MATCHING_WHEN_WRONG, MIN_MATCHING_REVERSED = 0.1, 0.5
_SHEET_KINDS = {2: "BCL Convert v2 sheet", 1: "v1/IEM sheet", 0: "barcode table"}
_LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


@dataclass(frozen=True)
class Instrument:
    model: str  # "" when the instrument ID is not one Illumina's naming gives
    i5_read: str  # FORWARD, REVERSE_COMPLEMENT, or "" when unknown

    def describe(self) -> str:
        if not self.model:
            return "the instrument (model not recognised from its ID)"
        reads = f", which reads i5 as the {self.i5_read} strand" if self.i5_read else ""
        return f"this {self.model}{reads}"


def identify_instrument(run_info: RunInfo, parameters: RunParameters | None) -> Instrument:
    for prefix, model, i5_read in _MODELS:
        if run_info.instrument.startswith(prefix):
            if model == "NovaSeq 6000":
                version = parameters.sbs_consumable_version if parameters else None
                if version is None:
                    return Instrument(model, "")
                v15 = version >= _NOVASEQ_V15_SBS
                return Instrument(
                    f"{model} ({'v1.5' if v15 else 'v1.0'} reagents)", REVERSE_COMPLEMENT if v15 else FORWARD
                )
            return Instrument(model, i5_read)
    return Instrument("", "")


@dataclass(frozen=True)
class Index2Rule:
    reverse_complement: bool
    why: str  # for the run-QC report and for error messages


def index2_rule(
    run_info: RunInfo, sheet: SampleSheet, instrument: Instrument, setting: str | bool
) -> Index2Rule:
    if setting != "auto":
        return Index2Rule(bool(setting), f"demux.index2_reverse_complement: {str(setting).lower()}")
    index_reads = run_info.index_reads
    marked = len(index_reads) > 1 and index_reads[1].reverse_complement
    if sheet.version == 2 and marked:
        return Index2Rule(
            True,
            f"BCL Convert v2 sheet on {instrument.describe()}: RunInfo.xml marks Index2 IsReverseComplement, "
            "so the sheet's forward-strand i5 is reverse-complemented",
        )
    kind = _SHEET_KINDS[sheet.version]
    return Index2Rule(False, f"{kind} on {instrument.describe()}: i5 is matched as the sheet lists it")


@dataclass(frozen=True)
class IndexSample:
    clusters: int
    as_planned: int
    reverse_complemented: int


def sample_index_reads(
    run_folder: Path, run_info: RunInfo, lane: int, tiles: Sequence[int], lengths: tuple[int, int]
) -> tuple[list[bytes], list[int]]:
    """Index1+Index2 as read by the PF clusters of the lane's first tiles (up to SAMPLED_CLUSTERS), and
    the tiles read. An index read's first cycles are its barcode's (the sheet's length)."""
    starts, first = [], 1
    for read in run_info.reads:
        if read.is_index:
            starts.append(first)
        first += read.cycles
    cycles = [starts[0] + c for c in range(lengths[0])] + [starts[1] + c for c in range(lengths[1])]
    lane_dir = basecalls_dir(run_folder) / f"L{lane:03d}"
    barcodes: list[bytes] = []
    read_tiles = []
    for tile in tiles:
        passing = filter_mask(lane_dir / f"s_{lane}_{tile}.filter")
        calls = np.stack([tile_calls(lane_dir / f"C{c}.1", lane, tile, passing) for c in cycles], axis=1)
        letters = np.ascontiguousarray(_LETTERS[calls[: SAMPLED_CLUSTERS - len(barcodes)]])
        barcodes += [row.tobytes() for row in letters]
        read_tiles.append(tile)
        if len(barcodes) >= SAMPLED_CLUSTERS:
            break
    return barcodes, read_tiles


def reverse_complement(sequence: str) -> str:
    return sequence.translate(_COMPLEMENT)[::-1]


def count_matches(barcodes: Sequence[bytes], planned: Sequence[tuple[str, str]]) -> IndexSample:
    as_planned = {(i7 + i5).encode() for i7, i5 in planned}
    flipped = {(i7 + reverse_complement(i5)).encode() for i7, i5 in planned}
    return IndexSample(
        len(barcodes), sum(b in as_planned for b in barcodes), sum(b in flipped for b in barcodes)
    )


def check_index2_orientation(lane: int, sample: IndexSample, rule: Index2Rule, tiles: Sequence[int]) -> None:
    if not sample.clusters:
        return
    matching, reversed_ = sample.as_planned / sample.clusters, sample.reverse_complemented / sample.clusters
    if matching < MAX_MATCHING_WHEN_WRONG and reversed_ >= MIN_MATCHING_REVERSED:
        raise DemuxError(
            f"lane {lane}: the i5 (Index2) orientation looks wrong: of {sample.clusters} clusters passing "
            f"filter on tile(s) {', '.join(map(str, tiles))}, {100 * matching:.1f}% carry a sample's barcode "
            f"as planned ({rule.why}), but {100 * reversed_:.1f}% would with Index2 reverse-complemented. "
            "Demultiplexing would leave the samples (almost) empty. If the sheet is right about the samples, "
            f"set demux.index2_reverse_complement: {str(not rule.reverse_complement).lower()} and run again"
        )
