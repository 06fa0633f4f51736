"""Engine overhead on the demo data: the same workflow locally, on the local SLURM cluster and with
S3 storage (local execution against a local moto server), one after another in one run.

Prints wall and CPU time per engine, their ratios to the local run, and the overhead each engine
adds per job: extra wall per job against the local run, and for SLURM the mean time between a
job's allocation and its tool (sacct Elapsed minus Snakemake's benchmark seconds).
CPU counts every process of the run: Snakemake and the tools (children of this script), the SLURM
jobs (sacct TotalCPU) and the moto server for S3.

    sudo bash scripts/slurm-up.sh          # for the slurm engine
    .venv/bin/python benchmarks/engines.py [--data DIR] [--engines local,slurm,s3]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from seqpipe.aws.layout import run_output_uri, run_outputs_key
from seqpipe.execution.command import snakemake_argv, workflow_environment

REPO = Path(__file__).resolve().parents[1]
# the engine tests' run directory (tests/support), so the benchmark runs what they run
sys.path.insert(0, str(REPO / "tests" / "support"))
from run_directory import make_run_dir  # noqa: E402

VENV_BIN = Path(sys.executable).parent
CONFIG: dict = {}  # the demo settings of config/config.yaml
TIMEOUT_S = 3600
SACCT_FIELDS = "JobIDRaw,ElapsedRaw,TotalCPU"


@dataclass
class EngineRun:
    engine: str
    wall_s: float
    cpu_s: float
    jobs: int
    tool_s: float  # sum of Snakemake's benchmark seconds over all jobs
    extra: dict = field(default_factory=dict)


def _clock_ticks(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tool_seconds(run_dir: Path, s3_dir: Path | None) -> tuple[int, float]:
    root = (s3_dir or run_dir) / "results" / "benchmarks"
    files = list(root.rglob("*.tsv"))
    total = 0.0
    for path in files:
        with path.open() as fh:
            total += sum(float(row["s"]) for row in csv.DictReader(fh, delimiter="\t"))
    return len(files), total


def _snakemake(argv: list[str], run_dir: Path, env: dict[str, str]) -> str:
    cmd = ["timeout", "--kill-after=30", str(TIMEOUT_S), str(VENV_BIN / "snakemake"), *argv[1:]]
    proc = subprocess.run(
        cmd, cwd=run_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    (run_dir / "benchmark-snakemake.log").write_text(proc.stdout)
    if proc.returncode != 0:
        sys.exit(f"{argv} failed in {run_dir}:\n{proc.stdout[-4000:]}")
    return proc.stdout


def _sacct(run_id: str) -> tuple[list[float], float]:
    """Elapsed seconds of each allocation of the run, and the CPU seconds of all their steps."""
    out = subprocess.run(
        ["sacct", "-nP", "--starttime=now-1days", f"--name={run_id}", f"--format={SACCT_FIELDS}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    elapsed, cpu = [], 0.0
    for line in out.splitlines():
        job_id, seconds, total_cpu = line.split("|")
        if "." in job_id:  # steps (batch script, srun step) carry the CPU
            cpu += _seconds(total_cpu)
        else:
            elapsed.append(float(seconds))
    return elapsed, cpu


def _seconds(slurm_time: str) -> float:
    days, _, rest = slurm_time.rpartition("-")
    parts = [float(p) for p in rest.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0.0)
    return int(days or 0) * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2]


def run_local(run_dir: Path, env: dict[str, str]) -> EngineRun:
    cpu0, t0 = _children_cpu(), time.monotonic()
    _snakemake(snakemake_argv("local", profiles=REPO / "profiles", configfile="run.yaml"), run_dir, env)
    wall, cpu = time.monotonic() - t0, _children_cpu() - cpu0
    jobs, tool = _tool_seconds(run_dir, None)
    return EngineRun("local", wall, cpu, jobs, tool)


def run_slurm(run_dir: Path, env: dict[str, str]) -> EngineRun:
    env = dict(env, SEQPIPE_MAX_THREADS=str(os.cpu_count() or 1))
    argv = snakemake_argv(
        "slurm",
        profiles=REPO / "profiles",
        configfile="run.yaml",
        extra=["--seqpipe-slurm-init-seconds-before-status-checks", "1"],
    )
    cpu0, t0 = _children_cpu(), time.monotonic()
    log = _snakemake(argv, run_dir, env)
    wall, head_cpu = time.monotonic() - t0, _children_cpu() - cpu0
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    time.sleep(15)  # slurmdbd records a job's steps and CPU some seconds after it ends
    # sacct --name matches allocations only; their steps are listed with them
    elapsed, jobs_cpu = _sacct(run_id)
    jobs, tool = _tool_seconds(run_dir, None)
    return EngineRun(
        "slurm",
        wall,
        head_cpu + jobs_cpu,
        jobs,
        tool,
        {
            "slurm_jobs": len(elapsed),
            "head_cpu_s": round(head_cpu, 1),
            "in_allocation_overhead_per_slurm_job_s": round((sum(elapsed) - tool) / len(elapsed), 2),
        },
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_s3(run_dir: Path, env: dict[str, str]) -> EngineRun:
    import boto3

    port = _free_port()
    log_path = run_dir.parent / "moto.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, str(REPO / "tests/support/moto_launch.py"), str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        env = dict(
            env,
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
        )
        for _ in range(100):
            if "moto ready" in log_path.read_text():
                break
            time.sleep(0.1)
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        bucket = "seqpipe-bench-processed"
        s3.create_bucket(Bucket=bucket)
        prefix = run_output_uri(bucket, "bench")
        for path in sorted(p for p in (run_dir / "data").rglob("*") if p.is_file()):
            s3.upload_file(
                str(path), bucket, f"{run_outputs_key('bench')}/{path.relative_to(run_dir).as_posix()}"
            )
        before = len(log_path.read_text().splitlines())
        argv = snakemake_argv("s3", profiles=REPO / "profiles", configfile="run.yaml", storage_prefix=prefix)
        server_cpu0, cpu0, t0 = _clock_ticks(server.pid), _children_cpu(), time.monotonic()
        _snakemake(argv, run_dir, env)
        wall = time.monotonic() - t0
        cpu, server_cpu = _children_cpu() - cpu0, _clock_ticks(server.pid) - server_cpu0
        requests = Counter(
            m.group(1)
            for line in log_path.read_text().splitlines()[before:]
            if (m := re.search(r'"(GET|HEAD|PUT|POST|DELETE) /seqpipe-bench-processed', line))
        )
        benchmarks = run_dir / "bench-benchmarks"
        _download_benchmarks(s3, bucket, benchmarks)
        jobs, tool = _tool_seconds(benchmarks, None) if benchmarks.exists() else (0, 0.0)
        return EngineRun(
            "s3",
            wall,
            cpu + server_cpu,
            jobs,
            tool,
            {"s3_requests": dict(requests), "endpoint_cpu_s": round(server_cpu, 1)},
        )
    finally:
        server.terminate()
        server.wait(10)


def _download_benchmarks(s3, bucket: str, dest: Path) -> None:
    prefix = f"{run_outputs_key('bench')}/results/benchmarks/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            target = dest / "results" / "benchmarks" / obj["Key"][len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(target))


RUNNERS = {"local": run_local, "slurm": run_slurm, "s3": run_s3}


def sequenced_gb(data: Path) -> float:
    """Bases in the data set's FASTQs, in Gb (the unit cost per genome is quoted in)."""
    import gzip

    bases = 0
    for path in sorted((data / "reads").glob("*.fastq.gz")):
        with gzip.open(path, "rt") as fh:
            bases += sum(len(line) - 1 for i, line in enumerate(fh) if i % 4 == 1)
    return bases / 1e9


def _demo_data(path: Path) -> Path:
    subprocess.run([str(VENV_BIN / "seqpipe"), "simulate", "--outdir", str(path)], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, help="a `seqpipe simulate` data set (default: generate the demo)"
    )
    parser.add_argument("--engines", default="local,slurm,s3")
    parser.add_argument("--workdir", type=Path, help="keep run directories here (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    engines = args.engines.split(",")
    unknown = set(engines) - set(RUNNERS)
    if unknown or engines[0] != "local":
        parser.error(f"engines must start with local and be among {sorted(RUNNERS)}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="seqpipe-engines-"))
    data = args.data or _demo_data(workdir / "data")
    env = workflow_environment()
    results = []
    for engine in engines:
        run_dir = make_run_dir(workdir / engine, data, REPO, CONFIG)
        print(f"[engines] {engine} ...", file=sys.stderr, flush=True)
        results.append(RUNNERS[engine](run_dir, env))
    base = results[0]
    print(
        f"{'engine':8} {'wall s':>8} {'CPU s':>8} {'wall x':>7} {'CPU x':>7} {'jobs':>5} {'+wall/job s':>11}"
    )
    for r in results:
        per_job = (r.wall_s - base.wall_s) / max(r.jobs, 1)
        print(
            f"{r.engine:8} {r.wall_s:8.1f} {r.cpu_s:8.1f} {r.wall_s / base.wall_s:7.2f} "
            f"{r.cpu_s / base.cpu_s:7.2f} {r.jobs:5d} {per_job:11.2f}  {json.dumps(r.extra)}"
        )
    gb = sequenced_gb(data)
    print(f"local CPU per sequenced Gb: {base.cpu_s / 3600 / gb:.3f} CPU-h/Gb ({gb:.3f} Gb of reads)")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
