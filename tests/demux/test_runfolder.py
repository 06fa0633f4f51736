"""Incomplete or inconsistent run folders are refused before any job, with what is wrong and where."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import pytest

from seqpipe.demux.basecalls import bcl_cluster_count, cbcl_tiles, read_filter, read_positions
from seqpipe.demux.errors import DemuxError
from seqpipe.demux.runfolder import check_run_folder, stage_run_folder, wait_for_completion
from seqpipe.demux.runinfo import parse_run_info

MISEQ = Path("bcl-miseq-illumina2bam") / "140624_MS6_13349_A_MS2639979-300V2"


@pytest.fixture
def run_copy(simulated_run, tmp_path: Path) -> Path:
    copy = tmp_path / simulated_run.folder.name
    shutil.copytree(simulated_run.folder, copy)
    return copy


def _check(folder: Path, trust: bool = False):
    return check_run_folder(folder, parse_run_info(folder / "RunInfo.xml"), [1, 2], trust)


def _lane1(folder: Path) -> Path:
    return folder / "Data" / "Intensities" / "BaseCalls" / "L001"


def test_complete_run_is_summarised_per_lane(simulated_run) -> None:
    check = _check(simulated_run.folder)
    assert sorted(check.lanes) == [1, 2]
    lane = check.lanes[1]
    assert lane.tiles == [1101, 1102]
    assert lane.clusters == sum(1 for c in simulated_run.written if c.lane == 1)
    assert lane.passing_filter == lane.clusters - 2
    assert check.locs_fixes == []


def test_run_without_completion_marker_is_refused(run_copy: Path) -> None:
    (run_copy / "RTAComplete.txt").unlink()
    (run_copy / "CopyComplete.txt").unlink()
    with pytest.raises(
        DemuxError, match=r"the run is not complete: neither RTAComplete.txt nor CopyComplete.txt"
    ):
        _check(run_copy)


def test_waiting_for_completion_returns_when_the_marker_appears(run_copy: Path) -> None:
    (run_copy / "RTAComplete.txt").unlink()
    (run_copy / "CopyComplete.txt").unlink()
    polls = []

    def instrument_finishes(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 2:
            (run_copy / "RTAComplete.txt").write_text("done")

    wait_for_completion(run_copy, timeout_s=60, poll_s=5, sleep=instrument_finishes)
    assert polls == [5, 5]
    with pytest.raises(DemuxError, match=r"still incomplete after waiting 0 s"):
        wait_for_completion(run_copy.parent / "elsewhere", timeout_s=0, poll_s=1)


def test_missing_cycle_folders_are_listed(run_copy: Path) -> None:
    for cycle in (5, 6, 7, 40):
        shutil.rmtree(_lane1(run_copy) / f"C{cycle}.1")
    with pytest.raises(DemuxError) as error:
        _check(run_copy)
    assert "missing cycle folder(s) C{n}.1 for cycle(s) 5-7, 40 of 88 (RunInfo.xml)" in str(error.value)
    assert "L001" in str(error.value)


def test_missing_tile_is_reported(run_copy: Path) -> None:
    (_lane1(run_copy) / "s_1_1102.filter").unlink()
    with pytest.raises(DemuxError, match=r"tiles listed in RunInfo.xml have no filter file: \[1102\]"):
        _check(run_copy)
    shutil.copy(_lane1(run_copy) / "s_1_1101.filter", _lane1(run_copy) / "s_1_1102.filter")
    (_lane1(run_copy) / "C3.1" / "s_1_1101.bcl.gz").unlink()
    with pytest.raises(DemuxError, match=r"C3.1: tile 1101: no BCL \(s_1_1101.bcl or .bcl.gz\)"):
        _check(run_copy)


def test_truncated_compressed_bcl_is_reported(run_copy: Path) -> None:
    bcl = _lane1(run_copy) / "C10.1" / "s_1_1101.bcl.gz"
    bcl.write_bytes(bcl.read_bytes()[:-12])
    with pytest.raises(DemuxError) as error:
        _check(run_copy)
    assert f"{bcl}: truncated or corrupt gzip-compressed BCL" in str(error.value)


def test_truncated_plain_bcl_is_reported(run_copy: Path) -> None:
    bcl = _lane1(run_copy) / "C10.1" / "s_1_1101.bcl.gz"
    plain = bcl.with_suffix("")
    plain.write_bytes(gzip.decompress(bcl.read_bytes())[:-3])
    bcl.unlink()
    with pytest.raises(
        DemuxError, match=r"s_1_1101.bcl: truncated or corrupt BCL: header declares \d+ clusters"
    ):
        _check(run_copy)


def test_bcl_and_filter_cluster_counts_must_agree(run_copy: Path) -> None:
    bcl = _lane1(run_copy) / "C2.1" / "s_1_1101.bcl.gz"
    body = gzip.decompress(bcl.read_bytes())[4:-1]
    bcl.write_bytes(gzip.compress(struct.pack("<I", len(body)) + body))
    with pytest.raises(DemuxError) as error:
        _check(run_copy)
    assert f"{bcl}: cluster-count mismatch: BCL declares {len(body)}, the filter file {len(body) + 1}" in str(
        error.value
    )


def test_truncated_filter_file_is_reported(run_copy: Path) -> None:
    path = _lane1(run_copy) / "s_1_1101.filter"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DemuxError, match=r"s_1_1101.filter: filter file declares \d+ clusters but holds"):
        _check(run_copy)


def test_miseq_stale_locs_header_is_reported(shared_testdata: Path) -> None:
    folder = shared_testdata / MISEQ
    info = parse_run_info(folder / "RunInfo.xml")
    with pytest.raises(DemuxError) as error:
        check_run_folder(folder, info, [1], trust_filter=False)
    assert (
        "Data/Intensities/L001/s_1_1101.locs: cluster-count mismatch: header declares 210781 clusters but "
        "the file holds 10 positions, and the filter file s_1_1101.filter declares 10. If the positions are "
        "right and only the header is stale (e.g. a trimmed test run), set "
        "demux.trust_filter_cluster_count: true"
    ) in str(error.value)


def test_miseq_trusting_the_filter_file_stages_a_corrected_copy(
    shared_testdata: Path, tmp_path: Path
) -> None:
    folder = shared_testdata / MISEQ
    check = check_run_folder(folder, parse_run_info(folder / "RunInfo.xml"), [1], trust_filter=True)
    assert [(str(f.relative_path), f.clusters) for f in check.locs_fixes] == [
        ("Data/Intensities/L001/s_1_1101.locs", 10)
    ]
    staged = tmp_path / "staged"
    stage_run_folder(folder, staged, check.locs_fixes)
    locs = staged / "Data/Intensities/L001/s_1_1101.locs"
    assert not locs.is_symlink()
    assert read_positions(locs).declared == read_positions(locs).stored == 10
    assert read_positions(folder / "Data/Intensities/L001/s_1_1101.locs").declared == 210781  # untouched
    assert (staged / "RunInfo.xml").is_symlink()
    assert (staged / "Data/Intensities/BaseCalls").is_symlink()
    check_run_folder(staged, parse_run_info(staged / "RunInfo.xml"), [1], trust_filter=False)


def test_cbcl_headers_give_tiles_and_counts(shared_testdata: Path, tmp_path: Path) -> None:
    cycle = shared_testdata / "bcl-novaseq-cbcl/novaseq/Data/Intensities/BaseCalls/L001/C1.1"
    tiles = cbcl_tiles(cycle / "L001_1.cbcl")
    assert [(t.tile, t.clusters) for t in tiles] == [(1101, 28)]
    truncated = tmp_path / "L001_1.cbcl"
    truncated.write_bytes((cycle / "L001_1.cbcl").read_bytes()[:80])
    with pytest.raises(DemuxError, match="truncated CBCL: 80 bytes, its header describes 99"):
        cbcl_tiles(truncated)


def test_clocs_and_plain_bcl_of_hiseq2500(shared_testdata: Path) -> None:
    run = shared_testdata / "bcl-hiseq-clocs-picard/25T8B25T/Data/Intensities"
    filters = read_filter(run / "BaseCalls/L001/s_1_1101.filter")
    assert filters.clusters == 60
    assert read_positions(run / "L001/s_1_1101.clocs").declared == 60
    assert bcl_cluster_count(run / "BaseCalls/L001/C1.1/s_1_1101.bcl") == 60
