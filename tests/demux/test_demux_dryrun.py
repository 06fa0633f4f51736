"""bcl-convert and bcl2fastq cannot be installed here: their rules are checked by exact command lines,
and the collection of their output on a work folder laid out as they write it."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from seqpipe.demux.collect import collect_lane, fastq_layout


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
    fastqs = [
        f"out/fastq/{s}_L00{lane}_R{r}.fastq.gz" for s in ("SAMPLE-1", "SAMPLE-2", "SAMPLE-3") for r in (1, 2)
    ]
    # the collection is a script step (scripts/workflow_step.py): no shell command, the lane's files
    collect = f"rule demux_collect_lane_{lane}:\n    input: {work}\n    output: {', '.join(fastqs)}, "
    assert convert in result.stdout
    assert collect in result.stdout


def test_collection_moves_the_fastqs_bcl_convert_and_bcl2fastq_write(tmp_path: Path) -> None:
    project = tmp_path / "work" / "out" / "P1"  # both tools may write into project folders
    project.mkdir(parents=True)
    reads = {"A_S1": "@r1 1:N:0:ACGTACGT+TTTTGGGG", "Undetermined_S0": "@u1 1:N:0:GGGGGGGG+TTTTTTTT"}
    for prefix, name in reads.items():
        for read in (1, 2):
            (project / f"{prefix}_L001_R{read}_001.fastq.gz").write_bytes(
                gzip.compress(f"{name}\nACGT\n+\nIIII\n".encode())
            )
    for tool in ("bcl-convert", "bcl2fastq"):
        assert fastq_layout(tool) == "illumina"
    collect_lane(
        tmp_path / "work",
        fastq_layout("bcl-convert"),
        1,
        [("A", "ACGTACGT", "TTTTGGGG")],
        tmp_path / "fastq",
        tmp_path / "stats",
        2,
    )
    names = sorted(p.name for p in (tmp_path / "fastq").iterdir())
    assert names == [
        f"{s}_L001_R{r}.fastq.gz{m}" for s in ("A", "Undetermined") for r in (1, 2) for m in ("", ".md5")
    ]
    assert (
        tmp_path / "stats" / "counts.tsv"
    ).read_text() == "sample\tlane\treads\nA\t1\t1\nUndetermined\t1\t1\n"
    assert (
        tmp_path / "stats" / "unknown_barcodes.tsv"
    ).read_text() == "lane\tbarcode\treads\n1\tGGGGGGGG+TTTTTTTT\t1\n"
    # GGGGGGGG is no sample's i7: unknown, not hopped
    assert (tmp_path / "stats" / "index_hopping.tsv").read_text() == "lane\tindex_hops\tassigned\n1\t0\t1\n"


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
    # one pass: the multiplex table written by the command itself, barcodes matched inline
    expected = _line(
        f"(mkdir -p {work}/tmp {work}/fastq &&",
        r"printf '%s\t%s\t%s\n' OUTPUT_PREFIX BARCODE_1 BARCODE_2",
        f"{work}/fastq/SAMPLE-1 TAAGGCGA TAGATCGC",
    )
    assert expected in result.stdout
    expected = _line(
        f"{work}/fastq/Undetermined N N > {work}/multiplex.tsv &&",
        "PICARD=$(command -v PicardCommandLine || command -v picard) &&",
        f'"$PICARD" IlluminaBasecallsToFastq {common}',
        f"MULTIPLEX_PARAMS={work}/multiplex.tsv RUN_BARCODE=1 MACHINE_NAME=SIM001",
        "FLOWCELL_BARCODE=FLOWCELLX READ_NAME_FORMAT=CASAVA_1_8 COMPRESS_OUTPUTS=true",
        "INCLUDE_NON_PF_READS=false NUM_PROCESSORS=1 APPLY_EAMSS_FILTER=false",
        f"TMP_DIR={work}/tmp MATCH_BARCODES_INLINE=true MAX_MISMATCHES=1",
        f"METRICS_FILE={work}/barcode_metrics.txt SORT=false) > out/logs/demux/L001.convert.log 2>&1",
    )
    assert expected in result.stdout
    assert "ExtractIlluminaBarcodes" not in result.stdout


def test_picard_tables_name_every_sample_and_the_undetermined_reads() -> None:
    from seqpipe.demux.commands import barcode_table, multiplex_table

    barcodes = [("SAMPLE-1", "TAAGGCGA", "TAGATCGC"), ("SAMPLE-2", "CGTACTAG", "TAGATCGC")]
    assert barcode_table(barcodes) == (
        "barcode_sequence_1\tbarcode_sequence_2\tbarcode_name\tlibrary_name\n"
        "TAAGGCGA\tTAGATCGC\tSAMPLE-1\tSAMPLE-1\nCGTACTAG\tTAGATCGC\tSAMPLE-2\tSAMPLE-2\n"
    )
    assert multiplex_table(barcodes, "work/fastq") == (
        "OUTPUT_PREFIX\tBARCODE_1\tBARCODE_2\nwork/fastq/SAMPLE-1\tTAAGGCGA\tTAGATCGC\n"
        "work/fastq/SAMPLE-2\tCGTACTAG\tTAGATCGC\nwork/fastq/Undetermined\tN\tN\n"
    )
