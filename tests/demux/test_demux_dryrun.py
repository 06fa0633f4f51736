"""bcl-convert and bcl2fastq cannot be installed here: their rules are checked by exact command lines."""

from __future__ import annotations

import sys

import pytest


def _line(*parts: str) -> str:
    return " ".join(parts)


@pytest.mark.parametrize("lane", [1, 2])
def test_bcl_convert_command_line(simulated_run, demux_workflow, tmp_path, lane: int) -> None:
    run = simulated_run.folder
    config = {
        "run_folder": str(run),
        "outdir": "out",
        "demux": {"demultiplexer": "bcl-convert", "threads": 2},
    }
    result = demux_workflow(tmp_path, config, "-n", "-p")
    assert result.returncode == 0, result.stderr[-3000:]
    work = f"out/demux/L00{lane}/work"
    convert = _line(
        f"(mkdir -p {work} && bcl-convert --bcl-input-directory {run} --output-directory {work}/out",
        f"--sample-sheet {run}/SampleSheet.csv --bcl-only-lane {lane}",
        "--bcl-sampleproject-subdirectories false --bcl-num-conversion-threads 2",
        "--bcl-num-compression-threads 2 --bcl-num-decompression-threads 2 --force)",
        f"> out/logs/demux/L00{lane}.convert.log 2>&1",
    )
    collect = _line(
        f"({sys.executable} -m seqpipe.demux.collect --layout illumina --work {work} --lane {lane}",
        f"--fastq-dir out/fastq --stats-dir out/demux/L00{lane} --reads 2",
        "--sample SAMPLE-1 --sample SAMPLE-2 --sample SAMPLE-3)",
        f"> out/logs/demux/L00{lane}.collect.log 2>&1",
    )
    assert convert in result.stdout
    assert collect in result.stdout


def test_bcl2fastq_command_line_with_extra_options(simulated_run, demux_workflow, tmp_path) -> None:
    run = simulated_run.folder
    config = {
        "run_folder": str(run),
        "outdir": "out",
        "demux": {
            "demultiplexer": "bcl2fastq",
            "barcode_mismatches": 0,
            "extra": "--no-lane-splitting",
            "threads": 4,
        },
    }
    result = demux_workflow(tmp_path, config, "-n", "-p")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        _line(
            f"(mkdir -p out/demux/L002/work && bcl2fastq --runfolder-dir {run}",
            f"--output-dir out/demux/L002/work/out --sample-sheet {run}/SampleSheet.csv --tiles s_2_",
            # demux.threads 4, capped by --cores 2
            "--barcode-mismatches 0 --loading-threads 1 --processing-threads 2 --writing-threads 1",
            "--no-lane-splitting) > out/logs/demux/L002.convert.log 2>&1",
        )
        in result.stdout
    )


def test_lanes_are_independent_jobs(simulated_run, demux_workflow, tmp_path) -> None:
    config = {"run_folder": str(simulated_run.folder), "outdir": "out"}
    result = demux_workflow(tmp_path, config, "-n")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = dict(
        line.split()[:2] for line in result.stdout.splitlines() if line.startswith(("demux_", "all "))
    )
    assert counts["demux_convert_lane"] == "2"
    assert counts["demux_collect_lane_1"] == counts["demux_collect_lane_2"] == "1"


def test_picard_command_line(simulated_run, demux_workflow, tmp_path) -> None:
    run = simulated_run.folder
    result = demux_workflow(tmp_path, {"run_folder": str(run), "outdir": "out"}, "-n", "-p")
    work = "out/demux/L001/work"
    common = f"BASECALLS_DIR={run}/Data/Intensities/BaseCalls LANE=1 READ_STRUCTURE=36T8B8B36T"
    tables = _line(
        f"{sys.executable} -m seqpipe.demux.commands --lane 1 --prefix-dir {work}/fastq",
        f"--barcodes-out {work}/barcodes.tsv --multiplex-out {work}/multiplex.tsv",
        "--barcode SAMPLE-1 TAAGGCGA TAGATCGC --barcode SAMPLE-2 CGTACTAG TAGATCGC",
        "--barcode SAMPLE-3 AGGCAGAA TAGATCGC",
    )
    expected = _line(
        f"(mkdir -p {work}/barcodes {work}/fastq && {tables} &&",
        "PICARD=$(command -v PicardCommandLine || command -v picard) &&",
        f'"$PICARD" ExtractIlluminaBarcodes {common} BARCODE_FILE={work}/barcodes.tsv',
        f"OUTPUT_DIR={work}/barcodes METRICS_FILE={work}/barcode_metrics.txt MAX_MISMATCHES=1",
        "NUM_PROCESSORS=1 COMPRESS_OUTPUTS=true &&",
        f'"$PICARD" IlluminaBasecallsToFastq {common} BARCODES_DIR={work}/barcodes',
        f"MULTIPLEX_PARAMS={work}/multiplex.tsv RUN_BARCODE=1 MACHINE_NAME=SIM001",
        "FLOWCELL_BARCODE=FLOWCELLX READ_NAME_FORMAT=CASAVA_1_8 COMPRESS_OUTPUTS=true",
        "INCLUDE_NON_PF_READS=false NUM_PROCESSORS=1 APPLY_EAMSS_FILTER=false",
        f"TMP_DIR={work}/barcodes) > out/logs/demux/L001.convert.log 2>&1",
    )
    assert expected in result.stdout
