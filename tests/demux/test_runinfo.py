"""RunInfo.xml of real instruments (viral-ngs fixtures) and of the shared real run folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqpipe.demux.errors import DemuxError
from seqpipe.demux.runinfo import parse_run_info, parse_run_parameters


@pytest.mark.parametrize(
    ("name", "flowcell", "lanes", "cycles", "indexes", "tiles"),
    [
        ("RunInfo-hiseq.xml", "HVFF2ADXX", 2, [101, 8, 8, 101], 2, None),
        ("RunInfo-miseq.xml", "000000000-AEF96", 1, [101, 8, 8, 101], 2, None),
        ("RunInfo-nextseq-1000-2000-p1.xml", "AAG27M7M5", 1, [151, 8, 8, 151], 2, 32),
        ("RunInfo-novaseq-x-plus.xml", "22J5GLLT4", 8, [151, 10, 10, 151], 2, None),
    ],
)
def test_runinfo_of_real_instruments_parses(
    viralngs: Path, name: str, flowcell: str, lanes: int, cycles: list[int], indexes: int, tiles: int | None
) -> None:
    info = parse_run_info(viralngs / name)
    assert info.flowcell == flowcell
    assert info.lane_count == lanes
    assert [r.cycles for r in info.reads] == cycles
    assert len(info.index_reads) == indexes
    if tiles is not None:
        assert len(info.tiles_of_lane(1)) == tiles


def test_novaseq_x_index2_is_marked_reverse_complement(viralngs: Path) -> None:
    info = parse_run_info(viralngs / "RunInfo-novaseq-x-plus.xml")
    assert [r.reverse_complement for r in info.index_reads] == [False, True]
    assert len(info.tiles_of_lane(8)) > 0


def test_every_viralngs_runinfo_parses(viralngs: Path) -> None:
    for path in sorted(viralngs.glob("RunInfo*.xml")):
        info = parse_run_info(path)
        assert info.reads and info.lane_count >= 1, path


def test_miseq_run_folder_runinfo_and_parameters(shared_testdata: Path) -> None:
    folder = shared_testdata / "bcl-miseq-illumina2bam" / "140624_MS6_13349_A_MS2639979-300V2"
    info = parse_run_info(folder / "RunInfo.xml")
    assert (info.instrument, info.run_number, info.flowcell) == ("M02069", 133, "000000000-A9RLY")
    assert [(r.cycles, r.is_index) for r in info.reads] == [(75, False), (12, True), (8, True), (75, False)]
    assert parse_run_parameters(folder) is not None


def test_broken_runinfo_names_file_and_problem(tmp_path: Path) -> None:
    path = tmp_path / "RunInfo.xml"
    path.write_text("<RunInfo><Run Id='x' Number='1'><Flowcell>F</Flowcell></Run")
    with pytest.raises(DemuxError, match=r"RunInfo.xml: not valid XML"):
        parse_run_info(path)
    path.write_text(
        "<RunInfo><Run Id='x' Number='1'><Reads><Read Number='1' NumCycles='one'/></Reads></Run></RunInfo>"
    )
    with pytest.raises(DemuxError, match=r"NumCycles='one' is not an integer"):
        parse_run_info(path)
    with pytest.raises(DemuxError, match="not found"):
        parse_run_info(tmp_path / "missing" / "RunInfo.xml")
