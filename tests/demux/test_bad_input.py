"""Bad input stops the run with a message naming file, line and field; no complete-looking FASTQ remains."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import pytest

from seqpipe.demux.collect import collect_lane
from seqpipe.demux.errors import DemuxError


@pytest.fixture
def run_copy(simulated_run, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(simulated_run.folder, copy)
    return copy


def _fastqs(outdir: Path) -> list[Path]:
    return sorted(outdir.rglob("*.fastq.gz")) if outdir.exists() else []


def _edit_sheet(run: Path, old: str, new: str) -> None:
    sheet = run / "SampleSheet.csv"
    sheet.write_text(sheet.read_text().replace(old, new))


def test_index_collision_stops_before_any_job(run_copy: Path, demux_workflow, tmp_path: Path) -> None:
    _edit_sheet(run_copy, "1,SAMPLE-2,SAMPLE-2,CGTACTAG", "1,SAMPLE-2,SAMPLE-2,TAAGGCGT")  # 1 off SAMPLE-1
    result = demux_workflow(tmp_path / "wf", {"run_folder": str(run_copy), "outdir": "out"})
    assert result.returncode != 0
    assert (
        f"{run_copy}/SampleSheet.csv, line 15, field index/index2: index collision in lane 1: samples "
        "'SAMPLE-1' (line 14) and 'SAMPLE-2' (line 15) have barcodes TAAGGCGATAGATCGC and TAAGGCGTTAGATCGC "
        "at Hamming distance 1; with barcode_mismatches=1 they need a distance of at least 3"
    ) in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "wf" / "out").exists()


def test_bad_characters_name_line_and_field(run_copy: Path, demux_workflow, tmp_path: Path) -> None:
    _edit_sheet(run_copy, "2,SAMPLE-3,", "2,SAMPLE 3/x,")
    result = demux_workflow(tmp_path / "wf", {"run_folder": str(run_copy), "outdir": "out"}, "-n")
    assert result.returncode != 0
    assert (
        f"{run_copy}/SampleSheet.csv, line 19, field Sample_ID: 'SAMPLE 3/x': "
        "only letters, digits, '-' and '_'"
    ) in result.stdout + result.stderr


def test_truncated_bcl_stops_before_any_job(run_copy: Path, demux_workflow, tmp_path: Path) -> None:
    bcl = run_copy / "Data/Intensities/BaseCalls/L002/C7.1/s_2_1102.bcl.gz"
    bcl.write_bytes(bcl.read_bytes()[:30])
    result = demux_workflow(tmp_path / "wf", {"run_folder": str(run_copy), "outdir": "out"})
    assert result.returncode != 0
    assert f"{bcl}: truncated or corrupt gzip-compressed BCL" in result.stdout + result.stderr
    assert not (tmp_path / "wf" / "out").exists()


def test_invalid_demux_settings_are_named(run_copy: Path, demux_workflow, tmp_path: Path) -> None:
    config = {"run_folder": str(run_copy), "demux": {"demultiplexer": "guppy", "min_read": 3}}
    result = demux_workflow(tmp_path / "wf", config, "-n")
    assert result.returncode != 0
    assert (
        "demux.demultiplexer: 'guppy' is not one of ['picard', 'bcl-convert', 'bcl2fastq']"
        in result.stdout + result.stderr
    )
    assert (
        "Additional properties are not allowed ('min_read' was unexpected)" in result.stdout + result.stderr
    )


def test_failed_conversion_leaves_no_fastq(run_copy: Path, demux_workflow, tmp_path: Path) -> None:
    workdir = tmp_path / "wf"
    # The job makes its work folder and multiplex table, then Picard fails on an option: it dies half-way.
    config = {"run_folder": str(run_copy), "outdir": "out", "demux": {"extra": "MAX_RECORDS_IN_RAM=many"}}
    result = demux_workflow(workdir, config, "--keep-going")
    assert result.returncode != 0
    assert "Error in rule demux_convert_lane" in result.stdout + result.stderr
    log = (workdir / "out/logs/demux/L001.convert.log").read_text()
    assert "PicardProg: IlluminaBasecallsToFastq" in log and "MAX_RECORDS_IN_RAM" in log, log[-2000:]
    assert not list((workdir / "out").rglob("work"))
    assert _fastqs(workdir / "out") == []
    assert not list((workdir / "out").rglob("*.partial"))


def test_corrupt_converter_output_is_not_collected(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "fastq").mkdir(parents=True)
    for name in ("A.1", "A.2", "Undetermined.1", "Undetermined.2"):
        (work / "fastq" / f"{name}.fastq.gz").write_bytes(gzip.compress(b"@r\nACGT\n+\nIIII\n"))
    (work / "fastq" / "Undetermined.2.fastq.gz").write_bytes(gzip.compress(b"@r\nACGT\n+\nIIII\n")[:-8])
    with pytest.raises(
        DemuxError, match=r"Undetermined_L001_R2\.fastq\.gz\.partial: converter output is not a complete"
    ):
        collect_lane(work, "picard", 1, [("A", "ACGTACGT", "")], tmp_path / "fastq", tmp_path / "stats", 2)
    assert list((tmp_path / "fastq").iterdir()) == []


@pytest.fixture
def cbcl_copy(novaseq_6000_run, tmp_path: Path) -> Path:
    copy = tmp_path / "cbcl_run"
    shutil.copytree(novaseq_6000_run.folder, copy)
    return copy


def _stops_before_any_job(run: Path, demux_workflow, workdir: Path, message: str) -> None:
    result = demux_workflow(workdir, {"run_folder": str(run), "outdir": "out"})
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (workdir / "out").exists()


def test_truncated_cbcl_stops_before_any_job(cbcl_copy: Path, demux_workflow, tmp_path: Path) -> None:
    cbcl = cbcl_copy / "Data/Intensities/BaseCalls/L002/C40.1/L002_2.cbcl"
    data = cbcl.read_bytes()
    cbcl.write_bytes(data[:-10])
    message = f"{cbcl}: truncated CBCL: {len(data) - 10} bytes, its header describes {len(data)}"
    _stops_before_any_job(cbcl_copy, demux_workflow, tmp_path / "wf", message)


def test_cbcl_tile_missing_from_one_cycle_stops_before_any_job(
    cbcl_copy: Path, demux_workflow, tmp_path: Path
) -> None:
    cbcl = cbcl_copy / "Data/Intensities/BaseCalls/L001/C5.1/L001_2.cbcl"
    data = cbcl.read_bytes()
    # Drop the last tile (2102): its record in the header, and its block at the end of the file.
    header_size, bins = struct.unpack_from("<I", data, 2)[0], struct.unpack_from("<I", data, 8)[0]
    tiles_at = 12 + 8 * bins
    last = tiles_at + 4 + 16 * (struct.unpack_from("<I", data, tiles_at)[0] - 1)
    tile, _, _, compressed = struct.unpack_from("<IIII", data, last)
    assert tile == 2102
    header = bytearray(data[:last] + data[last + 16 : header_size])
    struct.pack_into("<I", header, 2, header_size - 16)
    struct.pack_into("<I", header, tiles_at, struct.unpack_from("<I", data, tiles_at)[0] - 1)
    cbcl.write_bytes(bytes(header) + data[header_size : len(data) - compressed])
    message = f"{cbcl}: tile 2102 is missing from this CBCL (its filter file s_1_2102.filter lists it)"
    _stops_before_any_job(cbcl_copy, demux_workflow, tmp_path / "wf", message)


def test_missing_s_locs_stops_before_any_job(cbcl_copy: Path, demux_workflow, tmp_path: Path) -> None:
    (cbcl_copy / "Data/Intensities/s.locs").unlink()
    message = (
        f"{cbcl_copy}/Data/Intensities/s.locs: missing: a CBCL run keeps the positions of every tile's "
        "clusters in this one file"
    )
    _stops_before_any_job(cbcl_copy, demux_workflow, tmp_path / "wf", message)
