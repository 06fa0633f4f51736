"""Benchmark: the workflow against the same tools run by hand, on the same data, in one run.

    .venv/bin/python benchmarks/pipeline_vs_by_hand.py [--genome-size 5552609] [--depth 30] [--workdir DIR]

Generates the data once (seeded), then runs (1) the Snakemake workflow with --cores 2 and (2) the
by-hand chain of notes/baseline.md one step after another, and prints wall time, CPU time (user+sys of
every process) and peak RSS (the largest single process) of both, with their ratios. CPU used by
other processes during each run is printed too: this machine is shared, so compare ratios.
Peak RSS is GNU time's maximum resident set of the largest single process of each run.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from seqpipe.execution.command import snakemake_argv, workflow_environment

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGETS = {"wall": 0.85, "cpu": 1.10}
PEAK_RSS_LIMIT_MB = 2048


@dataclass
class Measure:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    others_cpu_s: float


def _busy_jiffies() -> int:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    idle = int(fields[3]) + int(fields[4])
    return sum(int(f) for f in fields[:8]) - idle


def measure(commands: list[str], cwd: Path) -> Measure:
    """Run the commands as one script under GNU time: its figures cover the script and all its descendants."""
    env = workflow_environment()
    script = "set -euo pipefail\n" + "\n".join(commands) + "\n"
    report = cwd / "time.txt"
    busy_before = _busy_jiffies()
    subprocess.run(
        ["/usr/bin/time", "-o", str(report), "-f", "%e %U %S %M", "bash", "-c", script],
        cwd=cwd,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    busy = (_busy_jiffies() - busy_before) / os.sysconf("SC_CLK_TCK")
    wall, user, system, max_rss_kb = report.read_text().split()
    cpu = float(user) + float(system)
    return Measure(float(wall), cpu, int(max_rss_kb) / 1024, max(0.0, busy - cpu))


def by_hand_chain(data: Path, work: Path) -> list[str]:
    ref, r1, r2 = (
        work / "ref.fa",
        data / "reads" / "S1_L001_R1.fastq.gz",
        data / "reads" / "S1_L001_R2.fastq.gz",
    )
    rg = r"@RG\tID:S1.L001\tSM:S1\tLB:S1\tPL:ILLUMINA"
    return [
        f"cp {data}/reference/genome.fa {ref} && bwa index {ref} && samtools faidx {ref}",
        f"mkdir -p fastqc && fastqc -t 2 -o fastqc {r1} {r2}",
        f"fastp -w 2 -i {r1} -I {r2} -o t1.fq.gz -O t2.fq.gz -j fastp.json -h fastp.html",
        f"bwa mem -t 2 -K 100000000 -R '{rg}' {ref} t1.fq.gz t2.fq.gz | samtools fixmate -m -u - - "
        "| samtools sort -@2 -m 1G -o sorted.bam",
        "samtools markdup -@2 -f markdup.txt sorted.bam md.bam",
        "samtools index md.bam",
        f"samtools view -C -T {ref} -o S1.cram md.bam && samtools index S1.cram",
        f"bcftools mpileup -f {ref} -a AD,DP md.bam | bcftools call -mv -Oz -o bcftools.vcf.gz "
        "&& tabix -p vcf bcftools.vcf.gz",
        f"freebayes -f {ref} md.bam | bgzip > freebayes.vcf.gz && tabix -p vcf freebayes.vcf.gz",
        f"samtools stats -r {ref} md.bam > S1.stats",
        "samtools flagstat md.bam > S1.flagstat",
        "mosdepth -n --fast-mode --by 1000 S1 md.bam",
        f"bcftools stats -F {ref} bcftools.vcf.gz > bcftools.stats && "
        f"bcftools stats -F {ref} freebayes.vcf.gz > freebayes.stats",
        "multiqc --force -o multiqc .",
    ]


def pipeline_command(data: Path, work: Path) -> list[str]:
    config = work / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "samples": str(data / "samples.tsv"),
                "units": str(data / "units.tsv"),
                "reference": {"fasta": str(data / "reference" / "genome.fa")},
                "outdir": str(work / "results"),
            }
        )
    )
    argv = snakemake_argv(
        "local",
        profiles=REPO / "profiles",
        configfile=config,
        extra=["--snakefile", f"{REPO}/Snakefile", "--cores", "2"],
    )
    return [shlex.join([f"{BIN}/python", "-m", *argv])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genome-size", type=int, default=5_552_609)
    parser.add_argument("--depth", type=float, default=30.0)
    parser.add_argument("--workdir", type=Path, default=REPO / "benchmarks-out" / "pipeline")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    data = args.workdir / "data"
    if not (data / "manifest.json").exists():
        subprocess.run(
            [
                str(BIN / "seqpipe"),
                "simulate",
                "--outdir",
                str(data),
                "--genome-size",
                str(args.genome_size),
                "--samples",
                f"S1:{args.depth:g}",
                "--units-per-sample",
                "1",
                "--no-lowmap",
            ],
            check=True,
        )
    runs = {}
    for name, commands in (("by_hand", by_hand_chain), ("pipeline", pipeline_command)):
        work = args.workdir / name
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        runs[name] = measure(commands(data, work), work)

    hand, flow = runs["by_hand"], runs["pipeline"]
    ratios = {"wall": flow.wall_s / hand.wall_s, "cpu": flow.cpu_s / hand.cpu_s}
    print(f"data: {args.genome_size:,} bp, S1 at {args.depth:g}x, 2 cores")
    print(f"{'':10}{'wall s':>10}{'CPU s':>10}{'peak RSS MB':>13}{'others CPU s':>14}")
    for name, m in runs.items():
        print(f"{name:10}{m.wall_s:10.1f}{m.cpu_s:10.1f}{m.peak_rss_mb:13.0f}{m.others_cpu_s:14.1f}")
    print(f"{'ratio':10}{ratios['wall']:10.2f}{ratios['cpu']:10.2f}")
    for key, limit in TARGETS.items():
        print(f"target {key} ratio <= {limit}: {'met' if ratios[key] <= limit else 'NOT met'}")
    rss_met = flow.peak_rss_mb <= PEAK_RSS_LIMIT_MB
    print(f"target peak RSS <= {PEAK_RSS_LIMIT_MB} MB: {'met' if rss_met else 'NOT met'}")
    if args.json:
        args.json.write_text(
            json.dumps({k: asdict(v) for k, v in runs.items()} | {"ratios": ratios}, indent=2)
        )


if __name__ == "__main__":
    main()
