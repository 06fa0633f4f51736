"""Write simulated read pairs as a real-format Illumina run folder (test fixture and demo input).

The folder has what a HiSeq/MiniSeq-era instrument writes and every converter reads: RunInfo.xml,
RunParameters.xml, SampleSheet.csv, per-lane per-cycle `s_<lane>_<tile>.bcl.gz`, per-tile `.filter` and
`.locs`, InterOp tile metrics (cluster counts, density) and quality metrics (per-cycle Q-score histograms)
and the completion markers. Each cluster's position is
chosen so the read name a converter derives from it (`<instrument>:<run>:<flowcell>:<lane>:<tile>:<x>:<y>`)
maps back to the simulated read, which lets tests check that every read lands in its sample.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

# Real Nextera XT i7 (N7xx) and i5 (S5xx) indexes: pairwise far apart, as a lab would pick them.
I7_INDEXES = (
    "TAAGGCGA", "CGTACTAG", "AGGCAGAA", "TCCTGAGC", "GGACTCCT", "TAGGCATG",
    "CTCTCTAC", "CAGAGAGG", "GCTACGCT", "CGAGGCTG", "AAGAGGCA", "GTAGAGGA",
)  # fmt: skip
I5_INDEXES = ("TAGATCGC", "CTCTCTAT", "TATCCTCT", "AGAGTAGA", "GTAAGGAG", "ACTGCATA", "AAGGAGTA", "CTAAGCCT")
_BASE_LOOKUP = np.full(256, 255, dtype=np.uint8)
for _code, _base in enumerate(b"ACGT"):
    _BASE_LOOKUP[_base] = _code
# Picard turns a locs coordinate p into round(10 * p + 1000); whole-number positions keep that exact.
_POSITIONS_PER_ROW = 2000


@dataclass(frozen=True)
class Cluster:
    """One simulated cluster: a read pair (qualities Phred+33) and the index reads it carries."""

    name: str
    sample: str  # "" for a cluster whose barcode matches no sample
    read1: str
    qual1: str
    read2: str
    qual2: str
    index1: str
    index2: str = ""


@dataclass(frozen=True)
class SheetSample:
    sample_id: str
    index1: str
    index2: str = ""


@dataclass(frozen=True)
class RunLayout:
    run_id: str = "260101_SIM001_0001_AFLOWCELLX"
    instrument: str = "SIM001"
    run_number: int = 1
    flowcell: str = "FLOWCELLX"
    tiles_per_lane: int = 2


@dataclass(frozen=True)
class WrittenCluster:
    cluster: Cluster
    lane: int
    tile: int
    passes_filter: bool
    read_name: str  # as a converter writes it (Casava 1.8 style, without the comment)


@dataclass(frozen=True)
class FlowcellLayout:
    """RunInfo.xml's FlowcellLayout: the instrument's flow cell, whatever part of it was simulated."""

    lane_count: int
    surface_count: int = 1
    swath_count: int = 1
    tile_count: int = 2  # tiles per swath


def index_pairs(count: int) -> list[tuple[str, str]]:
    if count > len(I7_INDEXES) * len(I5_INDEXES):
        raise ValueError(f"at most {len(I7_INDEXES) * len(I5_INDEXES)} samples")
    return [(I7_INDEXES[i % len(I7_INDEXES)], I5_INDEXES[i // len(I7_INDEXES)]) for i in range(count)]


def unique_dual_index_pairs(count: int) -> list[tuple[str, str]]:
    """Each sample its own i7 and i5 (as labs index patterned flow cells), so an index hop is recognisable."""
    if count > len(I5_INDEXES):
        raise ValueError(f"at most {len(I5_INDEXES)} samples with unique dual indexes")
    return list(zip(I7_INDEXES[:count], I5_INDEXES[:count], strict=True))


def reverse_complement(sequence: str) -> str:
    return sequence.translate(str.maketrans("ACGTN", "TGCAN"))[::-1]


def _cluster_cycles(c: Cluster, cycles: tuple[int, int, int, int]) -> tuple[str, str]:
    """A cluster's bases and qualities over all cycles; shorter reads are padded with no-calls."""
    r1, i1, i2, r2 = cycles
    bases = (
        c.read1.ljust(r1, "N") + c.index1.ljust(i1, "N") + c.index2.ljust(i2, "N") + c.read2.ljust(r2, "N")
    )
    return bases, c.qual1.ljust(r1, "#") + "I" * (i1 + i2) + c.qual2.ljust(r2, "#")


def _calls(reads: Sequence[tuple[str, str]], cycles: int) -> tuple[np.ndarray, np.ndarray]:
    """Clusters x cycles of base codes (0-3 for A, C, G, T; 255 for a no-call) and of Phred qualities."""
    bases = np.frombuffer("".join(seq for seq, _ in reads).encode(), dtype=np.uint8).reshape(-1, cycles)
    quals = np.frombuffer("".join(q for _, q in reads).encode(), dtype=np.uint8).reshape(-1, cycles)
    return _BASE_LOOKUP[bases], quals.astype(np.int16) - 33


def _bcl_matrix(reads: list[tuple[str, str]], cycles: int) -> np.ndarray:
    """Clusters x cycles of BCL bytes: quality in bits 2-7, base in bits 0-1, 0 for a no-call."""
    if not reads:
        return np.zeros((0, cycles), dtype=np.uint8)
    codes, phred = _calls(reads, cycles)
    matrix = (phred.clip(1, 63).astype(np.uint8) << 2) | (codes & 3)
    return np.where(codes == 255, 0, matrix).astype(np.uint8)


def _read_lengths(clusters: Iterable[Cluster]) -> tuple[int, int, int, int]:
    lengths = [0, 0, 0, 0]
    for c in clusters:
        for i, seq in enumerate((c.read1, c.index1, c.index2, c.read2)):
            lengths[i] = max(lengths[i], len(seq))
    return lengths[0], lengths[1], lengths[2], lengths[3]


def _run_info_xml(
    layout: RunLayout,
    cycles: tuple[int, int, int, int],
    tile_names: Sequence[str],
    flowcell: FlowcellLayout,
    i5_reverse_complement: bool | None = None,
    image_channels: tuple[str, str] = ("red", "green"),
) -> str:
    """RunInfo.xml; i5_reverse_complement None leaves out IsReverseComplement, as RTA before v4 does."""
    r1, i1, i2, r2 = cycles
    reads = [(r1, "N", False), (i1, "Y", False), (i2, "Y", bool(i5_reverse_complement)), (r2, "N", False)]
    read_xml = "\n".join(
        f'      <Read Number="{n}" NumCycles="{c}" IsIndexedRead="{idx}"'
        + ("" if i5_reverse_complement is None else f' IsReverseComplement="{"Y" if rc else "N"}"')
        + " />"
        for n, (c, idx, rc) in enumerate([r for r in reads if r[0]], start=1)
    )
    tiles_xml = "\n".join(f"          <Tile>{name}</Tile>" for name in tile_names)
    version = 5 if i5_reverse_complement is None else 6
    return f"""<?xml version="1.0"?>
<RunInfo Version="{version}">
  <Run Id="{layout.run_id}" Number="{layout.run_number}">
    <Flowcell>{layout.flowcell}</Flowcell>
    <Instrument>{layout.instrument}</Instrument>
    <Date>260101</Date>
    <Reads>
{read_xml}
    </Reads>
    <FlowcellLayout LaneCount="{flowcell.lane_count}" SurfaceCount="{flowcell.surface_count}" \
SwathCount="{flowcell.swath_count}" TileCount="{flowcell.tile_count}">
      <TileSet TileNamingConvention="FourDigit">
        <Tiles>
{tiles_xml}
        </Tiles>
      </TileSet>
    </FlowcellLayout>
    <ImageChannels>
      <Name>{image_channels[0]}</Name>
      <Name>{image_channels[1]}</Name>
    </ImageChannels>
  </Run>
</RunInfo>
"""


def _tiles(layout: RunLayout) -> list[int]:
    return [1101 + t for t in range(layout.tiles_per_lane)]


def _sample_sheet(
    samples: Sequence[SheetSample], lanes: Sequence[int], cycles: tuple[int, ...], bcl_convert: bool = False
) -> str:
    """An IEM (bcl2fastq) sheet, or a BCL Convert v2 sheet as NovaSeq X and NextSeq 2000 runs come with."""
    dual = any(s.index2 for s in samples)
    if bcl_convert:
        lines = [
            "[Header]",
            "FileFormatVersion,2",
            "RunName,seqpipe-simulated",
            "",
            "[Reads]",
            f"Read1Cycles,{cycles[0]}",
            f"Read2Cycles,{cycles[3]}",
            f"Index1Cycles,{cycles[1]}",
            *([f"Index2Cycles,{cycles[2]}"] if dual else []),
            "",
            "[BCLConvert_Settings]",
            "SoftwareVersion,4.2.7",
            "",
            "[BCLConvert_Data]",
            "Lane,Sample_ID,Index" + (",Index2" if dual else ""),
        ]
        rows = [
            f"{lane},{s.sample_id},{s.index1}" + (f",{s.index2}" if dual else "")
            for lane in lanes
            for s in samples
        ]
        return "\n".join([*lines, *rows]) + "\n"
    lines = [
        "[Header]",
        "IEMFileVersion,4",
        "Experiment Name,seqpipe-simulated",
        "Workflow,GenerateFASTQ",
        "",
        "[Reads]",
        str(cycles[0]),
        str(cycles[3]),
        "",
        "[Settings]",
        "",
        "[Data]",
        "Lane,Sample_ID,Sample_Name,index" + (",index2" if dual else ""),
    ]
    for lane in lanes:
        for s in samples:
            lines.append(f"{lane},{s.sample_id},{s.sample_id},{s.index1}" + (f",{s.index2}" if dual else ""))
    return "\n".join(lines) + "\n"


def _tile_metrics(counts: dict[tuple[int, int], tuple[int, int]]) -> bytes:
    """InterOp TileMetricsOut.bin version 2: (lane, tile, code, value) records."""
    records = bytearray(struct.pack("<BB", 2, 10))
    for (lane, tile), (clusters, passing) in sorted(counts.items()):
        for code, value in (
            (100, clusters * 1000.0),
            (101, passing * 1000.0),
            (102, clusters),
            (103, passing),
        ):
            records += struct.pack("<HHHf", lane, tile, code, float(value))
    return bytes(records)


def _quality_metrics(histograms: dict[tuple[int, int, int], np.ndarray]) -> bytes:
    """InterOp QMetricsOut.bin version 6 without bins: per (lane, tile, cycle), PF base calls at Q1..Q50.

    Version 6 says outright that the histogram is not binned; InterOp reads a version 4 file with few
    distinct Q-scores as binned by the old HiSeq scheme and reports 0% >= Q30."""
    records = bytearray(struct.pack("<BBB", 6, 6 + 4 * 50, 0))
    for (lane, tile, cycle), counts in sorted(histograms.items()):
        records += struct.pack("<HHH", lane, tile, cycle) + counts.astype("<u4").tobytes()
    return bytes(records)


def quality_histograms(quals: np.ndarray, passing: Sequence[bool]) -> list[np.ndarray]:
    """Per cycle of a tile's Phred scores (clusters x cycles, 0 for a no-call; BCL or CBCL alike), the
    PF clusters' calls at Q1..Q50 as RTA counts them for InterOp (no-calls left out)."""
    quals = quals[np.asarray(passing, dtype=bool)]
    return [np.bincount(column[column > 0].clip(1, 50), minlength=51)[1:] for column in quals.T]


def write_interop(
    folder: Path,
    tile_counts: dict[tuple[int, int], tuple[int, int]],
    histograms: dict[tuple[int, int, int], np.ndarray],
) -> None:
    """InterOp/ of a run: tile metrics from (lane, tile) -> (clusters, passing filter) and quality metrics
    from (lane, tile, cycle) -> quality_histograms' counts."""
    interop = folder / "InterOp"
    interop.mkdir(exist_ok=True)
    (interop / "TileMetricsOut.bin").write_bytes(_tile_metrics(tile_counts))
    (interop / "QMetricsOut.bin").write_bytes(_quality_metrics(histograms))


def _positions(clusters: int) -> list[tuple[float, float]]:
    return [(float(i % _POSITIONS_PER_ROW), float(i // _POSITIONS_PER_ROW)) for i in range(clusters)]


def _locs(xy: Sequence[tuple[float, float]]) -> bytes:
    return struct.pack("<ifI", 1, 1.0, len(xy)) + b"".join(struct.pack("<ff", x, y) for x, y in xy)


def _filter(passing: Sequence[bool]) -> bytes:
    return struct.pack("<III", 0, 3, len(passing)) + bytes(int(p) for p in passing)


def _read_name(layout: RunLayout, lane: int, tile: int, x: float, y: float) -> str:
    """The read name Picard derives from a cluster's position (Casava 1.8 style)."""
    return (
        f"{layout.instrument}:{layout.run_number}:{layout.flowcell}:{lane}:{tile}:"
        f"{round(10 * x + 1000)}:{round(10 * y + 1000)}"
    )


def _write_run_files(
    folder: Path,
    tile_counts: dict[tuple[int, int], tuple[int, int]],
    histograms: dict[tuple[int, int, int], np.ndarray],
    run_info: str,
    run_parameters: str,
    sample_sheet: str,
) -> None:
    """What every run folder holds beside its base calls: InterOp, run descriptions, sheet, markers."""
    write_interop(folder, tile_counts, histograms)
    (folder / "RunInfo.xml").write_text(run_info)
    (folder / "RunParameters.xml").write_text(run_parameters)
    (folder / "SampleSheet.csv").write_text(sample_sheet)
    (folder / "RTAComplete.txt").write_text("simulated run complete\n")
    (folder / "CopyComplete.txt").write_text("")


def write_run_folder(
    folder: Path,
    clusters_by_lane: dict[int, Sequence[Cluster]],
    samples: Sequence[SheetSample],
    layout: RunLayout = RunLayout(),
    failing_filter: frozenset[str] = frozenset(),
) -> list[WrittenCluster]:
    """Write the run folder; clusters named in failing_filter are written as not passing filter."""
    folder.mkdir(parents=True, exist_ok=True)
    lanes = sorted(clusters_by_lane)
    cycles = _read_lengths(c for cs in clusters_by_lane.values() for c in cs)
    tiles = _tiles(layout)
    written: list[WrittenCluster] = []
    tile_counts: dict[tuple[int, int], tuple[int, int]] = {}
    histograms: dict[tuple[int, int, int], np.ndarray] = {}
    for lane in lanes:
        lane_clusters = list(clusters_by_lane[lane])
        basecalls = folder / "Data" / "Intensities" / "BaseCalls" / f"L{lane:03d}"
        positions_dir = folder / "Data" / "Intensities" / f"L{lane:03d}"
        positions_dir.mkdir(parents=True, exist_ok=True)
        for t, tile in enumerate(tiles):
            on_tile = lane_clusters[t :: len(tiles)]
            reads = [_cluster_cycles(c, cycles) for c in on_tile]
            passing = [c.name not in failing_filter for c in on_tile]
            matrix = _bcl_matrix(reads, sum(cycles))
            for cycle in range(sum(cycles)):
                cycle_dir = basecalls / f"C{cycle + 1}.1"
                cycle_dir.mkdir(parents=True, exist_ok=True)
                column = matrix[:, cycle]
                with gzip.open(cycle_dir / f"s_{lane}_{tile}.bcl.gz", "wb", compresslevel=1) as fh:
                    fh.write(struct.pack("<I", len(reads)) + column.tobytes())
            (basecalls / f"s_{lane}_{tile}.filter").write_bytes(_filter(passing))
            xy = _positions(len(on_tile))
            (positions_dir / f"s_{lane}_{tile}.locs").write_bytes(_locs(xy))
            tile_counts[(lane, tile)] = (len(on_tile), sum(passing))
            for cycle, counts in enumerate(quality_histograms(matrix >> 2, passing), start=1):
                histograms[(lane, tile, cycle)] = counts
            for cluster, ok, (x, y) in zip(on_tile, passing, xy, strict=True):
                written.append(WrittenCluster(cluster, lane, tile, ok, _read_name(layout, lane, tile, x, y)))
    tile_names = [f"{lane}_{tile}" for lane in lanes for tile in tiles]
    run_info = _run_info_xml(layout, cycles, tile_names, FlowcellLayout(max(lanes), tile_count=len(tiles)))
    run_parameters = (
        '<?xml version="1.0"?>\n<RunParameters>\n  <Setup>\n    <ApplicationName>seqpipe bcl_run_folder'
        "</ApplicationName>\n    <ApplicationVersion>1</ApplicationVersion>\n  </Setup>\n"
        "  <RTAVersion>seqpipe</RTAVersion>\n</RunParameters>\n"
    )
    _write_run_files(
        folder, tile_counts, histograms, run_info, run_parameters, _sample_sheet(samples, lanes, cycles)
    )
    return written


def _fastq_records(path: Path) -> list[tuple[str, str, str]]:
    with gzip.open(path, "rt") if path.suffix == ".gz" else path.open() as fh:
        lines = fh.read().splitlines()
    return [(lines[i][1:].split()[0], lines[i + 1], lines[i + 3]) for i in range(0, len(lines) - 3, 4)]


class RunFolderWriter(Protocol):
    """write_run_folder, or the CBCL writer with its instrument chosen."""

    def __call__(
        self,
        folder: Path,
        clusters_by_lane: dict[int, Sequence[Cluster]],
        samples: Sequence[SheetSample],
        *,
        failing_filter: frozenset[str] = ...,
    ) -> list[WrittenCluster]: ...


def run_folder_from_units(
    units_tsv: Path,
    folder: Path,
    undetermined_per_lane: int = 0,
    seed: int = 1,
    index_hops_per_lane: int = 0,
    failing_per_lane: int = 0,
    write: RunFolderWriter = write_run_folder,
) -> list[WrittenCluster]:
    """A run folder holding the read pairs of a units.tsv (e.g. from `seqpipe simulate`).

    Each sample gets its own index pair; its n-th unit goes to lane n, so two units make a two-lane run.
    Optional clusters with barcodes of no sample land in Undetermined, as do index hops: clusters with the
    i7 of one sample and the i5 of the next (they need two samples). The first failing_per_lane
    clusters of each lane (after shuffling) do not pass filter.
    """
    import random

    from seqpipe.tsv import read_rows

    units = read_rows(units_tsv, ("sample", "fq1", "fq2"))
    samples_in_order = list(dict.fromkeys(u["sample"] for u in units))
    indexes = dict(zip(samples_in_order, unique_dual_index_pairs(len(samples_in_order)), strict=True))
    clusters: dict[int, list[Cluster]] = {}
    lane_of_unit: dict[str, int] = {}
    for unit in units:
        lane = lane_of_unit[unit["sample"]] = lane_of_unit.get(unit["sample"], 0) + 1
        i7, i5 = indexes[unit["sample"]]
        fq1, fq2 = (
            Path(unit[k]) if Path(unit[k]).is_absolute() else units_tsv.parent / unit[k]
            for k in ("fq1", "fq2")
        )
        for (name, s1, q1), (_, s2, q2) in zip(_fastq_records(fq1), _fastq_records(fq2), strict=True):
            # Samples' FASTQs may reuse read names; cluster names must be unique (failing_filter uses them).
            cluster = Cluster(f"{unit['sample']}/{name}", unit["sample"], s1, q1, s2, q2, i7, i5)
            clusters.setdefault(lane, []).append(cluster)
    rng = random.Random(seed)
    for lane, lane_clusters in clusters.items():
        template = lane_clusters[0]
        for n in range(undetermined_per_lane):
            # Poly-A/C index reads: far from every Nextera index, like adapter dimers on a real run.
            lane_clusters.append(
                Cluster(f"undetermined_{lane}_{n}", "", template.read1, template.qual1, template.read2,
                        template.qual2, "AAAAAAAA" if n % 2 else "CCCCCCCC", "AAAAAAAA")
            )  # fmt: skip
        for n in range(index_hops_per_lane):
            i7 = indexes[samples_in_order[n % len(samples_in_order)]][0]
            i5 = indexes[samples_in_order[(n + 1) % len(samples_in_order)]][1]
            lane_clusters.append(
                Cluster(f"index_hop_{lane}_{n}", "", template.read1, template.qual1, template.read2,
                        template.qual2, i7, i5)
            )  # fmt: skip
        rng.shuffle(lane_clusters)
    sheet = [SheetSample(sample, *indexes[sample]) for sample in samples_in_order]
    failing = frozenset(c.name for cs in clusters.values() for c in cs[:failing_per_lane])
    return write(folder, clusters, sheet, failing_filter=failing)
