"""Everything the demultiplexing rules need, worked out and checked once when the workflow is parsed.

`load_plan(config)` parses RunInfo.xml and the sample sheet, validates the sheet against the run, checks
the run folder is complete and consistent (waiting for it if configured), and derives per lane the
samples, barcodes and read structure. Any problem stops the workflow before a job starts.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqpipe.demux.collect import UNDETERMINED
from seqpipe.demux.errors import DemuxError
from seqpipe.demux.orientation import (
    Index2Rule,
    Instrument,
    check_index2_orientation,
    count_matches,
    identify_instrument,
    index2_rule,
    reverse_complement,
    sample_index_reads,
)
from seqpipe.demux.readstructure import picard_read_structure
from seqpipe.demux.runfolder import RunCheck, check_run_folder, wait_for_completion
from seqpipe.demux.runinfo import RunInfo, parse_run_info, parse_run_parameters
from seqpipe.demux.samplesheet import SampleRow, SampleSheet, parse_sample_sheet
from seqpipe.demux.settings import DemuxSettings, demux_settings
from seqpipe.demux.validate import check_sheet, samples_by_lane, used_index


@dataclass(frozen=True)
class LanePlan:
    lane: int
    samples: tuple[SampleRow, ...]
    read_structure: str
    # (sample ID, Index1 as read, Index2 as read); "as read" = reverse-complemented where the run needs it.
    barcodes: tuple[tuple[str, str, str], ...]

    @property
    def sample_ids(self) -> list[str]:
        return [s.sample_id for s in self.samples]


@dataclass(frozen=True)
class DemuxPlan:
    run_folder: Path
    sample_sheet: Path
    run_info: RunInfo
    sheet: SampleSheet
    settings: DemuxSettings
    lanes: tuple[LanePlan, ...]
    check: RunCheck
    outdir: str
    instrument: Instrument
    index2: Index2Rule

    @property
    def paired(self) -> bool:
        return len(self.run_info.template_reads) > 1

    @property
    def reads(self) -> list[int]:
        return [1, 2] if self.paired else [1]

    def fastq(self, sample: str, lane: int, read: int) -> str:
        return f"{self.outdir}/fastq/{sample}_L{lane:03d}_R{read}.fastq.gz"

    def lane_fastqs(self, lane: LanePlan) -> list[str]:
        return [self.fastq(s, lane.lane, r) for s in [*lane.sample_ids, UNDETERMINED] for r in self.reads]

    def sample_ids(self) -> list[str]:
        return list(dict.fromkeys(s for lane in self.lanes for s in lane.sample_ids))


def _lane_plan(
    lane: int, rows: list[SampleRow], run_info: RunInfo, sheet: SampleSheet, rc2: bool
) -> LanePlan:
    override = next((r.override_cycles for r in rows if r.override_cycles), sheet.override_cycles)
    overrides = {r.override_cycles or sheet.override_cycles for r in rows}
    if len(overrides) > 1:
        raise DemuxError(
            f"{sheet.path}: lane {lane} mixes OverrideCycles values {sorted(overrides)}; "
            "one lane is converted with one read structure"
        )
    lengths = [len(used_index(rows[0].index)), len(used_index(rows[0].index2))] if rows else []
    barcodes = tuple(
        (
            r.sample_id,
            used_index(r.index),
            reverse_complement(used_index(r.index2)) if rc2 else used_index(r.index2),
        )
        for r in rows
    )
    return LanePlan(lane, tuple(rows), picard_read_structure(run_info, override, lengths), barcodes)


def _build(config: dict[str, Any]) -> DemuxPlan:
    settings = demux_settings(config)
    run_folder = Path(config["run_folder"]).expanduser().resolve()
    if settings.wait_for_completion:
        wait_for_completion(run_folder, settings.wait_timeout_minutes * 60, settings.wait_poll_seconds)
    run_info = parse_run_info(run_folder / "RunInfo.xml")
    sheet_path = (
        Path(settings.sample_sheet).expanduser() if settings.sample_sheet else run_folder / "SampleSheet.csv"
    )
    sheet = parse_sample_sheet(sheet_path)
    check_sheet(sheet, run_info, settings.barcode_mismatches)
    by_lane = samples_by_lane(sheet, run_info)
    if settings.lanes:
        unknown = sorted(set(settings.lanes) - set(by_lane))
        if unknown:
            raise DemuxError(f"demux.lanes lists lane(s) {unknown} without samples in {sheet_path}")
        by_lane = {lane: rows for lane, rows in by_lane.items() if lane in settings.lanes}
    check = check_run_folder(run_folder, run_info, sorted(by_lane), settings.trust_filter_cluster_count)
    instrument = identify_instrument(run_info, parse_run_parameters(run_folder))
    rule = index2_rule(run_info, sheet, instrument, settings.index2_reverse_complement)
    lanes = tuple(
        _lane_plan(lane, rows, run_info, sheet, rule.reverse_complement) for lane, rows in by_lane.items()
    )
    # The override and the check are Picard's: bcl-convert and bcl2fastq read the sheet themselves.
    if settings.demultiplexer == "picard" and settings.index2_reverse_complement == "auto":
        for lane in lanes:
            _check_index2_orientation(run_folder, run_info, lane, check, rule)
    outdir = str(config.get("outdir", "results")).rstrip("/")
    return DemuxPlan(
        run_folder, sheet_path, run_info, sheet, settings, lanes, check, outdir, instrument, rule
    )


def _check_index2_orientation(
    run_folder: Path, run_info: RunInfo, lane: LanePlan, check: RunCheck, rule: Index2Rule
) -> None:
    """Stop before any job when the lane's index reads say the sheet's i5 is the other way round."""
    lengths = (len(lane.barcodes[0][1]), len(lane.barcodes[0][2])) if lane.barcodes else (0, 0)
    if not lengths[1]:
        return
    tiles = check.lanes[lane.lane].tiles
    barcodes, sampled_tiles = sample_index_reads(run_folder, run_info, lane.lane, tiles, lengths)
    planned = [(i7, i5) for _sample, i7, i5 in lane.barcodes]
    check_index2_orientation(lane.lane, count_matches(barcodes, planned), rule, sampled_tiles)


@functools.lru_cache(maxsize=8)
def _cached(config_json: str) -> DemuxPlan:
    return _build(json.loads(config_json))


def load_plan(config: dict[str, Any]) -> DemuxPlan:
    """The plan for this config; cached, since the hand-off and the rules both ask for it at parse time."""
    # keys left out stay out, so that their defaults apply (an "outdir" of None is not "results")
    relevant = {key: config[key] for key in ("run_folder", "demux", "outdir") if key in config}
    return _cached(json.dumps(relevant, sort_keys=True, default=str))
