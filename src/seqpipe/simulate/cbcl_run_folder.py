"""Write simulated read pairs as a CBCL run folder, as NovaSeq 6000, NovaSeq X and NextSeq 2000 write them.

Layout (what Picard's CbclReader and BCL Convert read):
- `Data/Intensities/BaseCalls/L00N/C<cycle>.1/L00N_<surface>.cbcl`: one file per lane, cycle and surface
  holding all tiles of that surface. Header (little-endian): uint16 version 1, uint32 header size, uint8
  bits per base call (2) and per quality (2), uint32 number of quality bins then (from, to) uint32 pairs,
  uint32 tile count then per tile (tile, clusters, uncompressed bytes, compressed bytes), uint8 "non-PF
  clusters excluded". Then one gzip block per tile: a nibble per cluster (first cluster in the low nibble),
  base in bits 0-1, quality bin in bits 2-3; nibble 0 is a no-call.
- `Data/Intensities/s.locs`: one position list for every tile (a patterned flow cell has the same wells on
  each tile), so every tile has as many wells as s.locs lists; empty wells are written as non-PF no-calls.
- `BaseCalls/L00N/s_N_<tile>.filter`: every well, PF or not.
- RunInfo.xml with the instrument's FlowcellLayout and `<lane>_<tile>` tile names, RunParameters.xml with
  the instrument and reagent version, a BCL Convert v2 sample sheet, InterOp tile metrics and the markers.

These instruments read i5 as the reverse complement of the forward-strand sequence that kit sheets list:
the CBCLs hold it as read. The sheet lists it forward where BCL Convert reverse-complements it itself
(RunInfo marks the read `IsReverseComplement="Y"`: NovaSeq X, NextSeq 1000/2000) and as read where it
does not (NovaSeq 6000 with v1.5 reagents: Illumina's "reverse complement workflow").
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from seqpipe.simulate.bcl_run_folder import (
    Cluster,
    FlowcellLayout,
    RunLayout,
    SheetSample,
    WrittenCluster,
    _calls,
    _cluster_cycles,
    _filter,
    _locs,
    _positions,
    _read_lengths,
    _read_name,
    _run_info_xml,
    _sample_sheet,
    _write_run_files,
    quality_histograms,
    reverse_complement,
)

# RTA3's quality table (no-call, then three bins), as real NovaSeq CBCL headers carry it.
QUALITY_BINS = (0, 12, 23, 37)
# Phred 0-93 -> bin 1-3 (a called base never gets bin 0: nibble 0 is the no-call)
_BIN_OF_PHRED = np.searchsorted([18, 30], np.arange(94), side="right").astype(np.uint8) + 1


@dataclass(frozen=True)
class CbclInstrument:
    """What differs between the instruments that write CBCL, as their run folders show it."""

    name: str
    run: RunLayout
    flowcell: FlowcellLayout
    run_parameters: str
    i5_reverse_complement_in_run_info: bool | None  # None: RunInfo has no IsReverseComplement (RTA3)
    sheet_i5_as_read: bool  # the sample sheet lists i5 as the instrument reads it
    image_channels: tuple[str, str]  # RunInfo <ImageChannels>, as the instrument names its two dyes
    tiles_per_surface: int = 2  # tiles written per surface (swath 1), of the flow cell's many


NOVASEQ_6000 = CbclInstrument(
    name="NovaSeq 6000 (S2, v1.5 reagents)",
    run=RunLayout("260101_A00123_0042_AH7XYZDSX5", "A00123", 42, "H7XYZDSX5"),
    flowcell=FlowcellLayout(lane_count=2, surface_count=2, swath_count=4, tile_count=88),
    run_parameters="""<?xml version="1.0"?>
<RunParameters xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Application>NovaSeq Control Software</Application>
  <ApplicationVersion>1.7.5</ApplicationVersion>
  <InstrumentName>A00123</InstrumentName>
  <RunNumber>42</RunNumber>
  <RtaVersion>v3.4.4</RtaVersion>
  <RfidsInfo>
    <FlowCellSerialBarcode>H7XYZDSX5</FlowCellSerialBarcode>
    <FlowCellMode>S2</FlowCellMode>
    <SbsConsumableVersion>3</SbsConsumableVersion>
    <ClusterConsumableVersion>3</ClusterConsumableVersion>
  </RfidsInfo>
</RunParameters>
""",
    i5_reverse_complement_in_run_info=None,
    sheet_i5_as_read=True,
    image_channels=("RED", "GREEN"),
)
NOVASEQ_X = CbclInstrument(
    name="NovaSeq X Plus (25B)",
    run=RunLayout("260101_LH00123_0042_B22J5GLLT4", "LH00123", 42, "22J5GLLT4"),
    flowcell=FlowcellLayout(lane_count=8, surface_count=2, swath_count=4, tile_count=98),
    run_parameters="""<?xml version="1.0"?>
<RunParameters xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Side>B</Side>
  <Application>NovaSeqX Control Software</Application>
  <SystemSuiteVersion>1.2.0</SystemSuiteVersion>
  <InstrumentType>NovaSeqXPlus</InstrumentType>
  <InstrumentSerialNumber>LH00123</InstrumentSerialNumber>
  <RunId>260101_LH00123_0042_B22J5GLLT4</RunId>
  <RunCounter>42</RunCounter>
  <ConsumableInfo>
    <ConsumableInfo>
      <Type>FlowCell</Type>
      <SerialNumber>22J5GLLT4</SerialNumber>
      <Mode>25B</Mode>
    </ConsumableInfo>
    <ConsumableInfo>
      <Type>Reagent</Type>
      <Name>NovaSeq X Series 25B Reagent Cartridge</Name>
      <Version>1.0</Version>
      <Mode>300</Mode>
    </ConsumableInfo>
  </ConsumableInfo>
</RunParameters>
""",
    i5_reverse_complement_in_run_info=True,
    sheet_i5_as_read=False,
    image_channels=("blue", "green"),
)
# A real P1 run's RunInfo.xml (tests/demux/data/viralngs/RunInfo-nextseq-1000-2000-p1.xml): one lane, tiles
# <surface><swath 1-4><tile 01-04>, run ID <date>_<VH serial>_<run counter, unpadded>_<flow cell ID>.
# RunParameters.xml keeps the fields of a real NextSeq 2000 file (Illumina InterOp's parser tests, run
# 200602_VH00120_33_AAACWM2M5): NextSeq 1000/2000 Control Software with its RTA, no reagent version.
NEXTSEQ_2000 = CbclInstrument(
    name="NextSeq 2000 (P1)",
    run=RunLayout("260101_VH00123_42_AAH7XYZM5", "VH00123", 42, "AAH7XYZM5"),
    flowcell=FlowcellLayout(lane_count=1, surface_count=2, swath_count=4, tile_count=4),
    run_parameters="""<?xml version="1.0"?>
<RunParameters xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <InstrumentSerialNumber>VH00123</InstrumentSerialNumber>
  <ApplicationName>NextSeq 1000/2000 Control Software</ApplicationName>
  <ApplicationVersion>1.1.0.27334</ApplicationVersion>
  <FlowCellSerialNumber>AAH7XYZM5</FlowCellSerialNumber>
  <RtaVersion>3.6.14</RtaVersion>
  <RunCounter>42</RunCounter>
</RunParameters>
""",
    i5_reverse_complement_in_run_info=True,
    sheet_i5_as_read=False,
    image_channels=("green", "blue"),
)

INSTRUMENTS = {"novaseq-6000": NOVASEQ_6000, "novaseq-x": NOVASEQ_X, "nextseq-2000": NEXTSEQ_2000}


def binned(quality: str, bases: str) -> str:
    """Qualities as a CBCL stores them: a no-call gets Q2 (Picard's no-call quality), the rest their bin."""
    phred = np.frombuffer(quality.encode(), dtype=np.uint8).astype(np.int16) - 33
    values = np.array(QUALITY_BINS, dtype=np.uint8)[_BIN_OF_PHRED[phred.clip(0, 93)]]
    values[np.frombuffer(bases.encode(), dtype=np.uint8) == ord("N")] = 2
    return (values + 33).tobytes().decode()


def _nibbles(reads: Sequence[tuple[str, str]], cycles: int) -> np.ndarray:
    """Clusters x cycles of CBCL nibbles: quality bin in bits 2-3, base in bits 0-1, 0 for a no-call."""
    if not reads:
        return np.zeros((0, cycles), dtype=np.uint8)
    codes, phred = _calls(reads, cycles)
    nibbles = (_BIN_OF_PHRED[phred.clip(0, 93)] << 2) | (codes & 3)
    return np.where(codes == 255, 0, nibbles).astype(np.uint8)


def _tile_block(column: np.ndarray) -> bytes:
    """One tile's clusters of one cycle, two per byte (the first in the low nibble)."""
    padded = np.append(column, np.uint8(0)) if len(column) % 2 else column
    return (padded[0::2] | (padded[1::2] << 4)).astype(np.uint8).tobytes()


def _cbcl(tiles: Sequence[tuple[int, np.ndarray]], non_pf_excluded: bool) -> bytes:
    """A CBCL file from (tile, that tile's nibbles of this cycle) pairs."""
    blocks = [(tile, len(column), _tile_block(column)) for tile, column in tiles]
    compressed = [gzip.compress(raw, compresslevel=1, mtime=0) for _, _, raw in blocks]
    bins = np.array(list(enumerate(QUALITY_BINS)), dtype="<u4").tobytes()
    records = b"".join(
        np.array([tile, clusters, len(raw), len(gz)], dtype="<u4").tobytes()
        for (tile, clusters, raw), gz in zip(blocks, compressed, strict=True)
    )
    body = (
        bytes([2, 2])
        + np.array([len(QUALITY_BINS)], dtype="<u4").tobytes()
        + bins
        + np.array([len(blocks)], dtype="<u4").tobytes()
        + records
        + bytes([int(non_pf_excluded)])
    )
    header_size = 6 + len(body)
    return (
        np.array([1], dtype="<u2").tobytes()
        + np.array([header_size], dtype="<u4").tobytes()
        + body
        + b"".join(compressed)
    )


def _tiles(instrument: CbclInstrument) -> list[int]:
    """Four-digit tile numbers: surface, swath, then the tile's two digits (1101, 1102, 2101, ...)."""
    surfaces = range(1, instrument.flowcell.surface_count + 1)
    return [
        surface * 1000 + 100 + t for surface in surfaces for t in range(1, instrument.tiles_per_surface + 1)
    ]


def write_cbcl_run_folder(
    folder: Path,
    clusters_by_lane: dict[int, Sequence[Cluster]],
    samples: Sequence[SheetSample],
    instrument: CbclInstrument = NOVASEQ_6000,
    failing_filter: frozenset[str] = frozenset(),
    non_pf_excluded: bool = True,
) -> list[WrittenCluster]:
    """Write the CBCL run folder; returns each cluster as written (qualities binned) and its read name.

    Clusters named in failing_filter do not pass filter; with non_pf_excluded the CBCLs leave them (and the
    empty wells) out, as RTA3 does by default, and only the filter files still list them.
    """
    lanes = sorted(clusters_by_lane)
    if lanes[0] < 1 or lanes[-1] > instrument.flowcell.lane_count:
        raise ValueError(
            f"{instrument.name} has lanes 1-{instrument.flowcell.lane_count}, not the lanes {lanes} given"
        )
    folder.mkdir(parents=True, exist_ok=True)
    cycles = _read_lengths(c for cs in clusters_by_lane.values() for c in cs)
    tiles = _tiles(instrument)
    wells = max(-(-len(cs) // len(tiles)) for cs in clusters_by_lane.values())
    xy = _positions(wells)
    intensities = folder / "Data" / "Intensities"
    intensities.mkdir(parents=True, exist_ok=True)
    (intensities / "s.locs").write_bytes(_locs(xy))
    empty = ("N" * sum(cycles), "#" * sum(cycles))
    written: list[WrittenCluster] = []
    tile_counts: dict[tuple[int, int], tuple[int, int]] = {}
    histograms: dict[tuple[int, int, int], np.ndarray] = {}
    for lane in lanes:
        basecalls = intensities / "BaseCalls" / f"L{lane:03d}"
        basecalls.mkdir(parents=True, exist_ok=True)
        in_cbcl: dict[int, np.ndarray] = {}  # tile -> wells x cycles of nibbles, as the CBCLs hold them
        for t, tile in enumerate(tiles):
            on_tile = list(clusters_by_lane[lane][t :: len(tiles)])
            reads = [_cluster_cycles(_i5_as_read(c), cycles) for c in on_tile] + [empty] * (
                wells - len(on_tile)
            )
            passing = [c.name not in failing_filter for c in on_tile] + [False] * (wells - len(on_tile))
            (basecalls / f"s_{lane}_{tile}.filter").write_bytes(_filter(passing))
            nibbles = _nibbles(reads, sum(cycles))
            in_cbcl[tile] = nibbles[np.array(passing)] if non_pf_excluded else nibbles
            tile_counts[(lane, tile)] = (len(on_tile), sum(passing))
            phred = np.array(QUALITY_BINS, dtype=np.uint8)[nibbles >> 2]  # 0 for a no-call, as InterOp wants
            for cycle, counts in enumerate(quality_histograms(phred, passing), start=1):
                histograms[(lane, tile, cycle)] = counts
            # passing and xy go on over the empty wells after the tile's clusters
            for cluster, ok, (x, y) in zip(on_tile, passing, xy, strict=False):
                read_name = _read_name(instrument.run, lane, tile, x, y)
                written.append(WrittenCluster(_with_binned_qualities(cluster), lane, tile, ok, read_name))
        for cycle in range(sum(cycles)):
            cycle_dir = basecalls / f"C{cycle + 1}.1"
            cycle_dir.mkdir(exist_ok=True)
            for surface in range(1, instrument.flowcell.surface_count + 1):
                on_surface = [(tile, in_cbcl[tile][:, cycle]) for tile in tiles if tile // 1000 == surface]
                (cycle_dir / f"L{lane:03d}_{surface}.cbcl").write_bytes(_cbcl(on_surface, non_pf_excluded))
    sheet_samples = [
        replace(s, index2=reverse_complement(s.index2)) if instrument.sheet_i5_as_read else s for s in samples
    ]
    tile_names = [f"{lane}_{tile}" for lane in lanes for tile in tiles]
    _write_run_files(
        folder,
        tile_counts,
        histograms,
        _run_info_xml(
            instrument.run,
            cycles,
            tile_names,
            instrument.flowcell,
            instrument.i5_reverse_complement_in_run_info,
            instrument.image_channels,
        ),
        instrument.run_parameters,
        _sample_sheet(sheet_samples, lanes, cycles, bcl_convert=True),
    )
    return written


def _i5_as_read(cluster: Cluster) -> Cluster:
    return replace(cluster, index2=reverse_complement(cluster.index2))


def _with_binned_qualities(cluster: Cluster) -> Cluster:
    return replace(
        cluster, qual1=binned(cluster.qual1, cluster.read1), qual2=binned(cluster.qual2, cluster.read2)
    )
