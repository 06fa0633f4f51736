"""Demultiplexing throughput: the pipeline's demux stage vs Picard run by hand, on the same run folder.

    .venv/bin/python benchmarks/demux_throughput.py [--layout bcl|novaseq-6000|novaseq-x|nextseq-2000]
        [--clusters-per-lane N] [--read-length L] [--samples S] [--threads T] [--convert-mem-mb M]

Writes a two-lane run folder (per-tile BCL, or CBCL as a NovaSeq writes it; one lane for a NextSeq 2000
P1, which has one), then measures wall time of
  1. the pipeline's demux stage: `snakemake` on rules/demux.smk (checks, lanes as parallel jobs,
     Picard in one pass, renaming, md5 and counts, run QC), with --cores 2 and demux.threads (default 1);
  2. Picard by hand, as its documentation runs it: ExtractIlluminaBarcodes + IlluminaBasecallsToFastq
     per lane with Picard's defaults, lane after lane, NUM_PROCESSORS=2, the same barcode tables;
  3. the pipeline's own Picard command (one pass) by hand, lane after lane, NUM_PROCESSORS=2: what the
     pipeline's checks, jobs and collection cost beyond the conversion itself;
and prints clusters per second of each and the ratios.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from seqpipe.demux.commands import picard_by_hand  # noqa: E402
from seqpipe.demux.plan import load_plan  # noqa: E402
from seqpipe.execution.command import snakemake_argv, workflow_environment  # noqa: E402
from seqpipe.simulate.bcl_run_folder import (  # noqa: E402
    Cluster,
    RunFolderWriter,
    SheetSample,
    index_pairs,
    write_run_folder,
)
from seqpipe.simulate.cbcl_run_folder import INSTRUMENTS, write_cbcl_run_folder  # noqa: E402

SNAKEFILE = f"""
from seqpipe.execution.scheduler_exit import cancel_scheduler_timers


include: "{REPO}/rules/demux.smk"


rule all:
    input:
        [fq for lane in DEMUX.lanes for fq in DEMUX.lane_fastqs(lane)],
        demux_qc_files(),


# as the pipeline's Snakefile: no waiting for the scheduler's timer once done
onsuccess:
    cancel_scheduler_timers()
"""


def write_run(
    folder: Path,
    lanes: int,
    samples: int,
    clusters_per_lane: int,
    read_length: int,
    write: RunFolderWriter,
) -> int:
    rng = random.Random(3)
    sheet = [SheetSample(f"S{i + 1}", i7, i5) for i, (i7, i5) in enumerate(index_pairs(samples))]
    # A pool of random reads reused across clusters keeps writing fast; converters do not care.
    pool = ["".join(rng.choice("ACGT") for _ in range(read_length)) for _ in range(512)]
    qual = "".join(chr(33 + rng.randint(20, 40)) for _ in range(read_length))
    clusters = {}
    for lane in range(1, lanes + 1):
        clusters[lane] = [
            Cluster(
                f"c{lane}_{n}",
                s.sample_id,
                pool[n % 512],
                qual,
                pool[(n * 7) % 512],
                qual,
                s.index1,
                s.index2,
            )
            for n in range(clusters_per_lane)
            for s in [sheet[n % samples]]
        ]
    write(folder, clusters, sheet)
    return lanes * clusters_per_lane


def timed(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the command and everything it started) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def time_pipeline(run: Path, work: Path, threads: int, convert_mem_mb: int | None) -> tuple[float, float]:
    work.mkdir()
    (work / "Snakefile").write_text(SNAKEFILE)
    config = {"run_folder": str(run), "outdir": "out", "demux": {"threads": threads}}
    (work / "config.yaml").write_text(json.dumps(config))  # JSON is YAML
    env = workflow_environment()
    # --convert-mem-mb overrides the resource table's request per lane job, which decides how many
    # lanes the local profile converts side by side.
    memory = ["--set-resources", f"demux_convert_lane:mem_mb={convert_mem_mb}"] if convert_mem_mb else []
    argv = snakemake_argv(
        "local", profiles=REPO / "profiles", configfile="config.yaml", extra=["--cores", "2", "-q", *memory]
    )
    return timed([sys.executable, "-m", *argv], cwd=work, env=env)


def time_picard_by_hand(run: Path, work: Path, one_pass: bool) -> tuple[float, float]:
    script = picard_by_hand(load_plan({"run_folder": str(run)}), work, threads=2, one_pass=one_pass)
    return timed(["bash", "-c", script])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layout", choices=["bcl", *INSTRUMENTS], default="bcl", help="run folder format")
    parser.add_argument("--clusters-per-lane", type=int, default=100_000)
    parser.add_argument("--read-length", type=int, default=100)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="demux.threads: Picard threads per lane job")
    parser.add_argument(
        "--convert-mem-mb", type=int, help="memory asked per lane job (default: the resource table's)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="demux-bench-") as tmp:
        base = Path(tmp)
        if args.layout == "bcl":
            run, write, lanes = base / "260101_SIM001_0001_AFLOWCELLX", write_run_folder, 2
        else:
            instrument = INSTRUMENTS[args.layout]
            run = base / instrument.run.run_id
            write = functools.partial(write_cbcl_run_folder, instrument=instrument)
            lanes = min(2, instrument.flowcell.lane_count)
        clusters = write_run(run, lanes, args.samples, args.clusters_per_lane, args.read_length, write)
        # the run folder's pages reach the disk before any timing: whichever side ran first would pay for it
        os.sync()
        pipeline = time_pipeline(run, base / "pipeline", args.threads, args.convert_mem_mb)
        by_hand = time_picard_by_hand(run, base / "by_hand", one_pass=False)
        one_pass = time_picard_by_hand(run, base / "one_pass", one_pass=True)
    cycles = 2 * args.read_length + 16
    print(f"run folder ({args.layout}): {lanes} lane(s), {clusters} clusters, {cycles} cycles, ", end="")
    print(f"{args.samples} samples")
    memory = f", {args.convert_mem_mb} MB per lane job" if args.convert_mem_mb else ""
    print(
        f"pipeline: --cores 2, demux.threads {args.threads}{memory}; "
        "by hand: lane after lane, NUM_PROCESSORS=2"
    )
    rows = [
        ("pipeline demux stage", pipeline),
        ("Picard by hand (two steps)", by_hand),
        ("pipeline's Picard command by hand", one_pass),
    ]
    for name, (wall, cpu) in rows:
        print(f"{name:34}: {wall:7.1f} s wall {cpu:7.1f} s CPU  {clusters / wall:9.0f} clusters/s")
    print(f"ratio pipeline / Picard by hand: {by_hand[0] / pipeline[0]:.2f}")
    print(f"ratio pipeline / its own Picard command by hand: {one_pass[0] / pipeline[0]:.2f}")


if __name__ == "__main__":
    main()
