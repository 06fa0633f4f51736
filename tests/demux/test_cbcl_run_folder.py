"""The CBCL writer checked against an independent reader: Picard's CbclReader converts what it wrote."""

from __future__ import annotations

import gzip
import struct
import subprocess
from pathlib import Path

import pytest

from seqpipe.demux.basecalls import cbcl_header, read_filter
from seqpipe.demux.commands import picard_by_hand
from seqpipe.demux.plan import load_plan
from seqpipe.demux.runinfo import parse_run_info
from seqpipe.simulate.bcl_run_folder import reverse_complement
from seqpipe.simulate.cbcl_run_folder import NOVASEQ_6000, NOVASEQ_X

from .conftest import SimulatedRun

# (sample or "Undetermined", read 1, quality 1, read 2, quality 2) by read name
Reads = dict[str, tuple[str, str, str, str, str]]


def _picard_reads(run: SimulatedRun, work: Path) -> Reads:
    result = subprocess.run(
        ["bash", "-c", picard_by_hand(load_plan({"run_folder": str(run.folder)}), work, threads=2)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    reads: Reads = {}
    for fastq1 in work.glob("L*/fastq/*.1.fastq.gz"):
        with (
            gzip.open(fastq1, "rt") as fh1,
            gzip.open(fastq1.with_name(fastq1.name[:-11] + ".2.fastq.gz"), "rt") as fh2,
        ):
            lines1, lines2 = fh1.read().splitlines(), fh2.read().splitlines()
        for i in range(0, len(lines1), 4):
            name = lines1[i][1:].split()[0]
            assert lines2[i][1:].split()[0] == name
            sample = fastq1.name.split(".")[0]
            reads[name] = (sample, lines1[i + 1], lines1[i + 3], lines2[i + 1], lines2[i + 3])
    return reads


@pytest.fixture(scope="module")
def converted(
    novaseq_6000_run: SimulatedRun, novaseq_x_run: SimulatedRun, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[SimulatedRun, Reads]]:
    return {
        name: (run, _picard_reads(run, tmp_path_factory.mktemp(f"picard_{name}")))
        for name, run in (("novaseq-6000", novaseq_6000_run), ("novaseq-x", novaseq_x_run))
    }


@pytest.mark.parametrize("layout", ["novaseq-6000", "novaseq-x"])
def test_picard_reads_every_pf_read_as_written(converted, layout: str) -> None:
    run, reads = converted[layout]
    expected = {
        w.read_name: (w.cluster.sample or "Undetermined", w.cluster.read1, w.cluster.qual1, w.cluster.read2,
                      w.cluster.qual2)
        for w in run.written
        if w.passes_filter
    }  # fmt: skip
    assert len(expected) == 2 * (
        3 * 30 + 4 + 2 - 2
    )  # two lanes: samples, unknown barcodes, hops, minus non-PF
    assert reads == expected


@pytest.mark.parametrize("layout", ["novaseq-6000", "novaseq-x"])
def test_index_hops_and_non_pf_clusters_are_not_in_any_sample(converted, layout: str) -> None:
    run, reads = converted[layout]
    by_name = {w.cluster.name: w for w in run.written}
    hops = [by_name[f"index_hop_{lane}_{n}"] for lane in (1, 2) for n in range(2)]
    assert {reads[w.read_name][0] for w in hops if w.passes_filter} == {"Undetermined"}
    failing = [w for w in run.written if not w.passes_filter]
    assert len(failing) == 4 and not {w.read_name for w in failing} & set(reads)


def test_cbcl_files_hold_each_surface_tiles_with_the_non_pf_flag(
    novaseq_6000_run: SimulatedRun, novaseq_x_run: SimulatedRun
) -> None:
    for run, excluded in ((novaseq_6000_run, True), (novaseq_x_run, False)):
        lane = run.folder / "Data/Intensities/BaseCalls/L001"
        headers = [cbcl_header(lane / "C1.1" / f"L001_{s}.cbcl") for s in (1, 2)]
        assert [[t.tile for t in h.tiles] for h in headers] == [[1101, 1102], [2101, 2102]]
        assert [h.pf_excluded for h in headers] == [excluded, excluded]
        for tile in headers[0].tiles + headers[1].tiles:
            content = read_filter(lane / f"s_1_{tile.tile}.filter")
            assert tile.clusters == (content.passing if excluded else content.clusters)


def test_cbcl_header_is_laid_out_like_a_real_novaseq_one(
    novaseq_6000_run: SimulatedRun, shared_testdata: Path
) -> None:
    def header(path: Path) -> tuple[int, int, int, list[tuple[int, int]]]:
        data = path.read_bytes()
        version, _size, bits_base, bits_quality, bins = struct.unpack_from("<HIBBI", data)
        pairs = [struct.unpack_from("<II", data, 12 + 8 * i) for i in range(bins)]
        return version, bits_base, bits_quality, pairs

    real = shared_testdata / "bcl-novaseq-cbcl/novaseq/Data/Intensities/BaseCalls/L001/C1.1/L001_1.cbcl"
    written = novaseq_6000_run.folder / "Data/Intensities/BaseCalls/L001/C1.1/L001_1.cbcl"
    assert header(written) == header(real) == (1, 2, 2, [(0, 0), (1, 12), (2, 23), (3, 37)])


def test_run_info_and_sheet_carry_each_instrument_i5_orientation(
    novaseq_6000_run: SimulatedRun, novaseq_x_run: SimulatedRun
) -> None:
    x_info = parse_run_info(novaseq_x_run.folder / "RunInfo.xml")
    assert (x_info.lane_count, x_info.tiles_of_lane(1)) == (8, [1101, 1102, 2101, 2102])
    assert [r.reverse_complement for r in x_info.reads] == [False, False, True, False]
    x_sheet = (novaseq_x_run.folder / "SampleSheet.csv").read_text()
    assert "FileFormatVersion,2" in x_sheet and "1,SAMPLE-2,CGTACTAG,CTCTCTAT\n" in x_sheet  # forward i5
    assert (
        "<InstrumentType>NovaSeqXPlus</InstrumentType>"
        in (novaseq_x_run.folder / "RunParameters.xml").read_text()
    )
    nova_info = parse_run_info(novaseq_6000_run.folder / "RunInfo.xml")
    assert (nova_info.lane_count, nova_info.tiles_of_lane(2)) == (2, [1101, 1102, 2101, 2102])
    assert not any(r.reverse_complement for r in nova_info.reads)
    # v1.5 reagents: the sheet lists i5 as the instrument reads it (Illumina's reverse-complement workflow)
    assert (
        f"1,SAMPLE-2,CGTACTAG,{reverse_complement('CTCTCTAT')}\n"
        in (novaseq_6000_run.folder / "SampleSheet.csv").read_text()
    )
    assert (
        "<SbsConsumableVersion>3</SbsConsumableVersion>"
        in (novaseq_6000_run.folder / "RunParameters.xml").read_text()
    )
    assert (NOVASEQ_6000.flowcell.lane_count, NOVASEQ_X.flowcell.lane_count) == (2, 8)
