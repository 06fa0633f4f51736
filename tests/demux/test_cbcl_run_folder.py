"""The CBCL writer checked against an independent reader: Picard's CbclReader converts what it wrote."""

from __future__ import annotations

import gzip
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from seqpipe.cli.main import cli
from seqpipe.demux.basecalls import cbcl_header, read_filter
from seqpipe.demux.commands import picard_by_hand
from seqpipe.demux.plan import load_plan
from seqpipe.demux.runinfo import parse_run_info, parse_run_parameters
from seqpipe.simulate.bcl_run_folder import reverse_complement
from seqpipe.simulate.cbcl_run_folder import (
    INSTRUMENTS,
    NEXTSEQ_2000,
    NOVASEQ_6000,
    NOVASEQ_X,
    write_cbcl_run_folder,
)

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
    novaseq_6000_run: SimulatedRun,
    novaseq_x_run: SimulatedRun,
    nextseq_2000_run: SimulatedRun,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[SimulatedRun, Reads]]:
    runs = {"novaseq-6000": novaseq_6000_run, "novaseq-x": novaseq_x_run, "nextseq-2000": nextseq_2000_run}
    return {
        name: (run, _picard_reads(run, tmp_path_factory.mktemp(f"picard_{name}")))
        for name, run in runs.items()
    }


def _lanes(run: SimulatedRun) -> list[int]:
    return sorted({w.lane for w in run.written})


@pytest.mark.parametrize("layout", sorted(INSTRUMENTS))
def test_picard_reads_every_pf_read_as_written(converted, layout: str) -> None:
    run, reads = converted[layout]
    expected = {
        w.read_name: (w.cluster.sample or "Undetermined", w.cluster.read1, w.cluster.qual1, w.cluster.read2,
                      w.cluster.qual2)
        for w in run.written
        if w.passes_filter
    }  # fmt: skip
    # per lane (two, or NextSeq's one): samples, unknown barcodes, hops, minus non-PF
    assert len(expected) == len(_lanes(run)) * (3 * 30 + 4 + 2 - 2)
    assert _lanes(run) == ([1] if layout == "nextseq-2000" else [1, 2])
    assert reads == expected


@pytest.mark.parametrize("layout", sorted(INSTRUMENTS))
def test_index_hops_and_non_pf_clusters_are_not_in_any_sample(converted, layout: str) -> None:
    run, reads = converted[layout]
    by_name = {w.cluster.name: w for w in run.written}
    hops = [by_name[f"index_hop_{lane}_{n}"] for lane in _lanes(run) for n in range(2)]
    assert {reads[w.read_name][0] for w in hops if w.passes_filter} == {"Undetermined"}
    failing = [w for w in run.written if not w.passes_filter]
    assert len(failing) == 2 * len(_lanes(run)) and not {w.read_name for w in failing} & set(reads)


def test_cbcl_files_hold_each_surface_tiles_with_the_non_pf_flag(
    novaseq_6000_run: SimulatedRun, novaseq_x_run: SimulatedRun, nextseq_2000_run: SimulatedRun
) -> None:
    for run, excluded in ((novaseq_6000_run, True), (novaseq_x_run, False), (nextseq_2000_run, True)):
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


def test_nextseq_2000_run_is_laid_out_like_a_real_p1_run(
    nextseq_2000_run: SimulatedRun, viralngs: Path
) -> None:
    """RunInfo.xml as the real P1 run's (one lane, 2 surfaces x 4 swaths x 4 tiles, the i5 read marked
    reverse-complement, its dye names), the sheet's i5 forward, and RunParameters naming the software."""
    folder = nextseq_2000_run.folder
    real = ET.parse(viralngs / "RunInfo-nextseq-1000-2000-p1.xml").getroot()
    written = ET.parse(folder / "RunInfo.xml").getroot()
    for tag in ("Run/FlowcellLayout", "Run/FlowcellLayout/TileSet"):
        assert written.find(tag).attrib == real.find(tag).attrib, tag
    assert [n.text for n in written.iter("Name")] == [n.text for n in real.iter("Name")] == ["green", "blue"]
    assert written.get("Version") == real.get("Version") == "6"
    real_info, info = (
        parse_run_info(viralngs / "RunInfo-nextseq-1000-2000-p1.xml"),
        parse_run_info(folder / "RunInfo.xml"),
    )
    assert info.lane_count == real_info.lane_count == 1
    assert info.tiles_of_lane(1) == [1101, 1102, 2101, 2102]
    assert set(info.tiles_of_lane(1) or []) < set(real_info.tiles_of_lane(1) or [])
    assert [r.reverse_complement for r in info.reads] == [r.reverse_complement for r in real_info.reads]
    assert [r.reverse_complement for r in info.reads] == [False, False, True, False]
    assert info.instrument[:2] == real_info.instrument[:2] == "VH"
    # <date>_<instrument>_<run counter, not zero-padded>_<flow cell>, as the real run is named
    assert info.run_id == f"260101_{info.instrument}_{info.run_number}_{info.flowcell}"
    assert real_info.run_id == f"240927_{real_info.instrument}_{real_info.run_number}_{real_info.flowcell}"
    sheet = (folder / "SampleSheet.csv").read_text()
    assert "FileFormatVersion,2" in sheet and "1,SAMPLE-2,CGTACTAG,CTCTCTAT\n" in sheet  # forward i5
    assert "\n2," not in sheet
    parameters = parse_run_parameters(folder)
    assert parameters is not None
    assert (parameters.application, parameters.rta_version) == (
        "NextSeq 1000/2000 Control Software",
        "3.6.14",
    )
    assert not list((folder / "Data/Intensities/BaseCalls").glob("L002"))


def test_writer_refuses_lanes_the_instrument_does_not_have(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"NextSeq 2000 \(P1\) has lanes 1-1, not the lanes \[1, 2\] given"):
        write_cbcl_run_folder(tmp_path / "run", {1: [], 2: []}, [], NEXTSEQ_2000)
    assert not (tmp_path / "run").exists()


def test_cli_writes_a_nextseq_2000_run_and_refuses_a_second_lane(tmp_path: Path) -> None:
    """`seqpipe demux simulate-run --layout nextseq-2000`: unit n goes to lane n, and a P1 has one lane."""
    rows = ["sample\tunit\tfq1\tfq2"]
    for sample in ("A", "B"):
        for read in (1, 2):
            records = "".join(f"@{sample}_{n}/{read}\n{'ACGT' * 10}\n+\n{'I' * 40}\n" for n in range(5))
            (tmp_path / f"{sample}_R{read}.fq.gz").write_bytes(gzip.compress(records.encode()))
        rows.append(f"{sample}\tL001\t{sample}_R1.fq.gz\t{sample}_R2.fq.gz")
    units = tmp_path / "units.tsv"
    units.write_text("\n".join(rows) + "\n")
    run = tmp_path / "run"
    args = ["demux", "simulate-run", "--units", str(units), "--layout", "nextseq-2000", "--index-hops", "1"]
    result = CliRunner().invoke(cli, [*args, "--outdir", str(run)])
    assert result.exit_code == 0, result.output
    assert "21 clusters in lanes [1]" in result.output  # 2 samples x 5 + 10 undetermined + 1 hop
    assert parse_run_info(run / "RunInfo.xml").instrument == NEXTSEQ_2000.run.instrument
    checked = CliRunner().invoke(cli, ["demux", "validate", str(run)])
    assert checked.exit_code == 0, checked.output
    units.write_text(units.read_text() + "A\tL002\tA_R1.fq.gz\tA_R2.fq.gz\n")
    refused = CliRunner().invoke(cli, [*args, "--outdir", str(tmp_path / "run2")])
    assert refused.exit_code == 1
    assert "Error: NextSeq 2000 (P1) has lanes 1-1, not the lanes [1, 2] given" in refused.output
