"""Benchmark: bcftools, FreeBayes and GATK side by side on the seeded 5.5 Mb / 30x case, with/without BQSR.

    .venv/bin/python benchmarks/callers.py [--genome-size 5552609] [--depth 30] [--workdir DIR]
        [--json F] [--reuse]

Generates the case once (seqpipe simulate, seeded: reference with difficult strata, truth, reads,
known sites) and runs the whole workflow with all three callers (--cores 2, scatter 4, BQSR off). Then,
under GNU time (CPU of every process, peak RSS of the largest), each caller's steps are run again on
their own from the same CRAM (`--forcerun` its first rule, the sample's VCF as target: the calling jobs
of the 4 chunks, genotyping, gathering), and GATK once more with BQSR on against the simulated known
sites (BaseRecalibrator + ApplyBQSR, then its calling steps) in a copy of the results. For each it
prints wall and CPU time and the SNV / indel precision, recall and F1 of its PASS calls per stratum
(`seqpipe accuracy`). Last, one chunk is called by
HaplotypeCaller twice by hand, with Intel GKL's native PairHMM and Smith-Waterman (the default when
they load) and with GATK's Java implementations, and the ratio of the two is printed.
Wall times on a shared 2-core machine are noisy: compare CPU, and ratios taken within one run.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import yaml
from pipeline_vs_by_hand import BIN, REPO, measure

from seqpipe.accuracy import evaluate, strata_in_dir
from seqpipe.execution.command import snakemake_argv

# the rule each caller's steps start from (all later ones follow it)
FIRST_RULE = {"bcftools": "call_bcftools", "freebayes": "call_freebayes", "gatk": "call_gatk_gvcf"}
KERNEL_TIMES = {
    "pairhmm_s": r"Total compute time in PairHMM computeLogLikelihoods\(\) : ([0-9.]+)",
    "smith_waterman_s": r"Total compute time in (?:java|native) Smith-Waterman : ([0-9.]+)",
}
JAVA_PAIRHMM = ["--pair-hmm-implementation", "LOGLESS_CACHING", "--smith-waterman", "JAVA"]


def simulate_case(data: Path, genome_size: int, depth: float) -> None:
    if (data / "manifest.json").exists():
        return
    subprocess.run(
        [str(BIN / "seqpipe"), "simulate", "--outdir", str(data), "--genome-size", str(genome_size),
         "--samples", f"S1:{depth:g}", "--units-per-sample", "1"],
        check=True,
    )  # fmt: skip


def write_config(data: Path, results: Path, callers: list[str], bqsr: bool) -> Path:
    config = {
        "samples": str(data / "samples.tsv"),
        "units": str(data / "units.tsv"),
        "reference": {"fasta": str(data / "reference" / "genome.fa")},
        "outdir": str(results),
        "calling": {
            "callers": callers,
            "scatter": 4,
            "gatk": {"bqsr": bqsr, "known_sites": [str(data / "known_sites" / "known_sites.vcf.gz")]},
        },
    }
    configfile = results.parent / f"config.{'bqsr' if bqsr else 'plain'}.yaml"
    configfile.write_text(yaml.safe_dump(config))
    return configfile


def workflow_command(configfile: Path, *extra: str) -> str:
    argv = snakemake_argv(
        "local",
        profiles=REPO / "profiles",
        configfile=configfile,
        extra=["--snakefile", f"{REPO}/Snakefile", "--cores", "2", *extra],
    )
    return shlex.join([str(BIN / "python"), "-m", *argv])


def accuracy(data: Path, vcf: Path) -> dict:
    result = evaluate(
        data / "truth" / "S1.vcf.gz",
        vcf,
        data / "reference" / "genome.fa",
        "S1",
        strata_in_dir(data / "strata"),
        None,
        True,
    )
    return {
        stratum: {kind: {k: s.as_dict()[k] for k in ("precision", "recall", "f1")} for kind, s in by.items()}
        for stratum, by in result.metrics.items()
    }


def pairhmm_comparison(results: Path, work: Path) -> dict:
    """HaplotypeCaller by hand on chunk 0, GKL native vs Java implementations."""
    reference = results / "reference" / "genome.fa"
    cram = results / "cram" / "S1.cram"
    bed = results / "reference" / "chunks" / "000.bed"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    figures = {}
    for name, extra in (("gkl_native", []), ("java", JAVA_PAIRHMM)):
        command = ["gatk", "--java-options", "-Xmx2g", "HaplotypeCaller", "-R", str(reference),
                   "-I", str(cram), "-L", str(bed), "-O", str(work / f"{name}.vcf.gz"), *extra]  # fmt: skip
        log = work / f"{name}.log"
        figures[name] = asdict(measure([f"{shlex.join(command)} 2> {log}"], work))
        # GATK's own account of the time spent in the two kernels the native library replaces
        for kernel, pattern in KERNEL_TIMES.items():
            found = re.search(pattern, log.read_text())
            figures[name][kernel] = float(found.group(1)) if found else None
    figures["java_over_native_cpu"] = figures["java"]["cpu_s"] / figures["gkl_native"]["cpu_s"]
    figures["java_over_native_wall"] = figures["java"]["wall_s"] / figures["gkl_native"]["wall_s"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genome-size", type=int, default=5_552_609)
    parser.add_argument("--depth", type=float, default=30.0)
    parser.add_argument("--workdir", type=Path, default=REPO / "benchmarks-out" / "callers")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--reuse", action="store_true", help="keep --workdir's run 1 and the phases already measured"
    )
    args = parser.parse_args()
    if not (BIN / "gatk").exists():
        sys.exit(f"gatk is not installed in {BIN}: bash scripts/install-gatk.sh")

    data = args.workdir / "data"
    simulate_case(data, args.genome_size, args.depth)
    plain, recalibrated = args.workdir / "plain" / "results", args.workdir / "bqsr" / "results"
    saved = args.workdir / "figures.json"
    figures: dict = json.loads(saved.read_text()) if args.reuse and saved.exists() else {}
    if not args.reuse:
        shutil.rmtree(plain.parent, ignore_errors=True)
    plain.parent.mkdir(parents=True, exist_ok=True)
    config = write_config(data, plain, list(FIRST_RULE), bqsr=False)
    measure([workflow_command(config)], plain.parent)

    def phase(name: str, run: Callable[[], dict]) -> None:
        """Each phase's figures are saved as soon as they are measured; --reuse skips the saved ones."""
        if name not in figures:
            figures[name] = run()
            saved.write_text(json.dumps(figures, indent=2))

    def timed_caller(caller: str, rule: str) -> dict:
        # the target before --forcerun: its rule list would swallow it
        target = plain / "vcf" / f"S1.{caller}.vcf.gz"
        timed = measure([workflow_command(config, str(target), "--forcerun", rule)], plain.parent)
        return {"time": asdict(timed), "accuracy": accuracy(data, target)}

    def timed_bqsr() -> dict:
        # a copy of run 1 without GATK's products, so that every GATK step runs after the recalibration
        shutil.rmtree(recalibrated.parent, ignore_errors=True)
        shutil.copytree(plain, recalibrated, symlinks=True)
        for path in [*recalibrated.glob("vcf/S1.gatk.*"), *recalibrated.glob("vcf/gvcf/S1.gatk.*")]:
            path.unlink()
        target = recalibrated / "vcf" / "S1.gatk.vcf.gz"
        timed = measure([workflow_command(write_config(data, recalibrated, ["gatk"], True), str(target))],
                        recalibrated.parent)  # fmt: skip
        return {"time": asdict(timed), "accuracy": accuracy(data, target)}

    figures["case"] = {"genome_bp": args.genome_size, "depth": args.depth, "scatter": 4, "cores": 2}
    for caller, rule in FIRST_RULE.items():
        phase(caller, lambda caller=caller, rule=rule: timed_caller(caller, rule))
    phase("gatk+bqsr", timed_bqsr)
    phase("pairhmm", lambda: pairhmm_comparison(plain, args.workdir / "pairhmm"))

    print(f"case: {args.genome_size:,} bp, S1 at {args.depth:g}x, scatter 4, 2 cores; PASS calls")
    print(f"{'caller':<11}{'wall s':>8}{'CPU s':>8}{'RSS MB':>8}{'others':>8}  stratum        "
          "SNV P / R / F1             indel P / R / F1")  # fmt: skip
    for name in (*FIRST_RULE, "gatk+bqsr"):
        t, acc = figures[name]["time"], figures[name]["accuracy"]
        for i, (stratum, by) in enumerate(acc.items()):
            head = (
                f"{name:<11}{t['wall_s']:>8.1f}{t['cpu_s']:>8.1f}{t['peak_rss_mb']:>8.0f}{t['others_cpu_s']:>8.1f}"
                if i == 0
                else " " * 43
            )
            cells = [
                " / ".join(
                    "-" if by[k][m] is None else f"{by[k][m]:.4f}" for m in ("precision", "recall", "f1")
                )
                for k in ("SNV", "indel")
            ]
            print(f"{head}  {stratum:<14}{cells[0]:<27}{cells[1]}")
    p = figures["pairhmm"]
    native, java = p["gkl_native"], p["java"]
    print(
        f"HaplotypeCaller on chunk 0: GKL native {native['cpu_s']:.1f} CPU s / {native['wall_s']:.1f} s,"
        f" Java {java['cpu_s']:.1f} / {java['wall_s']:.1f} s: Java/native CPU "
        f"{p['java_over_native_cpu']:.2f}, wall {p['java_over_native_wall']:.2f}; time in PairHMM "
        f"{native['pairhmm_s']:.2f} s native vs {java['pairhmm_s']:.2f} s Java, Smith-Waterman "
        f"{native['smith_waterman_s']:.2f} vs {java['smith_waterman_s']:.2f} s"
    )
    if args.json:
        shutil.copy(saved, args.json)


if __name__ == "__main__":
    main()
