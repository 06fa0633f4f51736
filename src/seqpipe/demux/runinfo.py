"""RunInfo.xml and RunParameters.xml: the run's reads, lanes and tiles as the instrument wrote them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from seqpipe.demux.errors import DemuxError


@dataclass(frozen=True)
class Read:
    number: int
    cycles: int
    is_index: bool
    reverse_complement: bool = False


@dataclass(frozen=True)
class RunInfo:
    path: Path
    run_id: str
    run_number: int
    flowcell: str
    instrument: str
    reads: tuple[Read, ...]
    lane_count: int
    # Tiles named "<lane>_<tile>" when RunInfo lists them (newer instruments); None when it does not.
    tiles: tuple[str, ...] | None

    @property
    def total_cycles(self) -> int:
        return sum(r.cycles for r in self.reads)

    @property
    def template_reads(self) -> tuple[Read, ...]:
        return tuple(r for r in self.reads if not r.is_index)

    @property
    def index_reads(self) -> tuple[Read, ...]:
        return tuple(r for r in self.reads if r.is_index)

    def tiles_of_lane(self, lane: int) -> list[int] | None:
        if self.tiles is None:
            return None
        return sorted(int(t.split("_")[1]) for t in self.tiles if t.split("_")[0] == str(lane))


def _parse_xml(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except FileNotFoundError:
        raise DemuxError(f"{path}: not found (every Illumina run folder has one)") from None
    except ET.ParseError as exc:
        raise DemuxError(f"{path}: not valid XML ({exc})") from None


def _required(run: ET.Element, path: Path, tag: str) -> str:
    node = run.find(tag)
    if node is None or not (node.text or "").strip():
        raise DemuxError(f"{path}: <{tag}> is missing or empty")
    return node.text.strip()


def _int_attr(node: ET.Element, name: str, path: Path) -> int:
    value = node.get(name)
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DemuxError(f"{path}: <{node.tag}> attribute {name}={value!r} is not an integer") from None


def parse_run_info(path: Path | str) -> RunInfo:
    path = Path(path)
    run = _parse_xml(path).find("Run")
    if run is None:
        raise DemuxError(f"{path}: no <Run> element")
    reads_node = run.find("Reads")
    if reads_node is None or not len(reads_node):
        raise DemuxError(f"{path}: no <Reads>")
    reads = tuple(
        sorted(
            (
                Read(
                    number=_int_attr(r, "Number", path),
                    cycles=_int_attr(r, "NumCycles", path),
                    is_index=r.get("IsIndexedRead", "N").upper() == "Y",
                    reverse_complement=r.get("IsReverseComplement", "N").upper() == "Y",
                )
                for r in reads_node.findall("Read")
            ),
            key=lambda r: r.number,
        )
    )
    layout = run.find("FlowcellLayout")
    if layout is None:
        raise DemuxError(f"{path}: no <FlowcellLayout>")
    tile_nodes = layout.findall("TileSet/Tiles/Tile")
    return RunInfo(
        path=path,
        run_id=run.get("Id", ""),
        run_number=_int_attr(run, "Number", path),
        flowcell=_required(run, path, "Flowcell"),
        instrument=_required(run, path, "Instrument"),
        reads=reads,
        lane_count=_int_attr(layout, "LaneCount", path),
        tiles=tuple(t.text.strip() for t in tile_nodes if t.text) or None,
    )


@dataclass(frozen=True)
class RunParameters:
    application: str
    application_version: str
    rta_version: str
    # NovaSeq 6000 reagents: 1 = v1.0, 3 = v1.5 (they read i5 in opposite orientations); None elsewhere
    sbs_consumable_version: int | None = None


def parse_run_parameters(run_folder: Path) -> RunParameters | None:
    """The software and reagents of the run; the file's name and case vary by instrument."""
    for name in ("RunParameters.xml", "runParameters.xml"):
        path = run_folder / name
        if path.is_file():
            root = _parse_xml(path)

            def first(*tags: str, root: ET.Element = root) -> str:
                for tag in tags:
                    node = root.find(f".//{tag}")
                    if node is not None and node.text:
                        return node.text.strip()
                return ""

            sbs = first("SbsConsumableVersion")
            return RunParameters(
                application=first("ApplicationName", "Application"),
                application_version=first("ApplicationVersion"),
                rta_version=first("RTAVersion", "RtaVersion"),
                sbs_consumable_version=int(sbs) if sbs.isdigit() else None,
            )
    return None
