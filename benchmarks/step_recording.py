"""What recording every step costs: the demo run locally with `seqpipe run`, and with `seqpipe run --record`
(the run, its QC and every step written to the jobs table of a local DynamoDB endpoint by the logger
plugin), on the same machine and data, in interleaved pairs whose order alternates (plain first, then
recorded first) so that a drifting load hits both alike.

Prints each run's wall time and CPU time (user + system of the run's processes: Snakemake with the
logger plugin's threads, and the tools), the median of each mode and the overhead of recording:
(median recorded − median plain) / median plain. The endpoint (moto, a local process) runs on the same
cores as the workflow, so what it spends serving the writes weighs on the wall time too; on a shared
machine the CPU figure is the steadier one.

    .venv/bin/python benchmarks/step_recording.py [--data DIR] [--pairs 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# the engine tests' run directory and local endpoint (tests/support), so the benchmark runs what they run
sys.path.insert(0, str(REPO / "tests" / "support"))
from moto_server import fresh_environment, moto_server  # noqa: E402
from run_directory import make_run_dir  # noqa: E402

from seqpipe.execution.command import workflow_environment  # noqa: E402

VENV_BIN = Path(sys.executable).parent
CONFIG: dict = {}  # the demo settings of config/config.yaml
TIMEOUT_S = 3600
SUMMARY = re.compile(r"seqpipe: recorded (\d+) steps of run \S+ in \S+ \((\d+) writes")


@dataclass
class Run:
    mode: str  # plain or recorded
    pair: int
    wall_s: float
    cpu_s: float
    steps: int = 0
    writes: int = 0


def run_demo(run_dir: Path, env: dict[str, str], mode: str, pair: int) -> Run:
    argv = [str(VENV_BIN / "seqpipe"), "run", "--configfile", "run.yaml", "--cores", "2"]
    if mode == "recorded":
        argv += ["--record", f"BENCH_{pair}", "--project", "BENCH"]
    cpu0, started = _children_cpu(), time.monotonic()
    proc = subprocess.run(
        ["timeout", "--kill-after=30", str(TIMEOUT_S), *argv],
        cwd=run_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    wall, cpu = time.monotonic() - started, _children_cpu() - cpu0
    (run_dir / "benchmark-run.log").write_text(proc.stdout)
    if proc.returncode != 0:
        sys.exit(f"{mode} run {pair} failed in {run_dir}:\n{proc.stdout[-4000:]}")
    summary = SUMMARY.search(proc.stdout)
    if mode == "recorded" and not summary:
        sys.exit(f"the recorded run {pair} printed no recording summary; see {run_dir}/benchmark-run.log")
    steps, writes = (int(summary.group(1)), int(summary.group(2))) if summary else (0, 0)
    return Run(mode, pair, wall, cpu, steps, writes)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, help="a `seqpipe simulate` data set (default: generate the demo)"
    )
    parser.add_argument("--pairs", type=int, default=3, help="plain/recorded pairs (default 3)")
    parser.add_argument("--workdir", type=Path, help="keep run directories here (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="seqpipe-recording-"))
    data = args.data
    if data is None:
        data = workdir / "data"
        subprocess.run([str(VENV_BIN / "seqpipe"), "simulate", "--outdir", str(data)], check=True)

    with moto_server(
        REPO / "tests/support/moto_launch.py", workdir / "moto.log", dict(os.environ)
    ) as endpoint:
        import boto3

        env = dict(os.environ, **fresh_environment(endpoint, "us-east-1"))
        os.environ.update(workflow_environment(env))
        from seqpipe.aws.settings import Settings
        from seqpipe.aws.tables import create_tables

        create_tables(boto3.client("dynamodb"), Settings.from_env().table_names())
        runs: list[Run] = []
        for pair in range(args.pairs):
            order = ("plain", "recorded") if pair % 2 == 0 else ("recorded", "plain")
            for mode in order:
                run_dir = make_run_dir(workdir / f"{mode}-{pair}", data, REPO, CONFIG)
                print(f"[recording] pair {pair}: {mode} ...", file=sys.stderr, flush=True)
                runs.append(run_demo(run_dir, env, mode, pair))
                print(f"[recording] pair {pair}: {mode} {runs[-1].wall_s:.1f} s", file=sys.stderr, flush=True)

    figures = {}
    print(f"{'pair':>4} {'mode':9} {'wall s':>8} {'cpu s':>8} {'steps':>6} {'writes':>7}")
    for r in runs:
        print(f"{r.pair:4d} {r.mode:9} {r.wall_s:8.1f} {r.cpu_s:8.1f} {r.steps:6d} {r.writes:7d}")
    for measure in ("wall_s", "cpu_s"):
        plain = statistics.median(getattr(r, measure) for r in runs if r.mode == "plain")
        recorded = statistics.median(getattr(r, measure) for r in runs if r.mode == "recorded")
        figures[measure] = (recorded - plain) / plain
        print(
            f"median {measure[:-2]}: plain {plain:.1f} s, recorded {recorded:.1f} s, "
            f"recording overhead {figures[measure]:+.1%} (target < 3 %)"
        )
    if args.json:
        args.json.write_text(json.dumps({"runs": [asdict(r) for r in runs], "overhead": figures}, indent=2))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
