"""Every file the real workflow writes for a run, with the sample or group its job is for: from a
Snakemake dry run of the repository's workflow (all four callers, BQSR, joint calling) over three
samples in two groups. Nothing here spells the layout: Snakemake prints each job's files and
wildcards."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pysam
import yaml

REPO = Path(__file__).resolve().parents[2]
GROUPS = {"fam1": ["A", "B"], "fam2": ["C"]}
OUTDIR = "results"


@dataclass(frozen=True)
class WorkflowFile:
    path: str  # relative to the run's storage prefix, e.g. results/cram/A.cram
    sample: str | None  # the job's sample, when it is for one
    group: str | None  # the job's joint-calling group, when it is for one
    temp: bool  # an intermediate (calls/, align/): what a run's work area holds


def fake_inputs(tmp: Path) -> dict[str, Path]:
    """Sheets (A and B in group fam1, C in fam2), a two-contig reference and empty FASTQs: enough for
    dry runs, which read no data."""
    reference = tmp / "ref.fa"
    reference.write_text(">chr1\n" + "ACGT" * 500 + "\n>chr2\n" + "GGCA" * 300 + "\n")
    units = ["sample\tunit\tfq1\tfq2"]
    sheet = ["sample\tgroup"]
    for group, samples in GROUPS.items():
        for sample in samples:
            sheet.append(f"{sample}\t{group}")
            for lane in ("L1", "L2"):
                for read in ("R1", "R2"):
                    with gzip.open(tmp / f"{sample}_{lane}_{read}.fq.gz", "wt"):
                        pass
                units.append(
                    f"{sample}\t{lane}\t{tmp}/{sample}_{lane}_R1.fq.gz\t{tmp}/{sample}_{lane}_R2.fq.gz"
                )
    (tmp / "samples.tsv").write_text("\n".join(sheet) + "\n")
    (tmp / "units.tsv").write_text("\n".join(units) + "\n")
    return {"samples": tmp / "samples.tsv", "units": tmp / "units.tsv", "reference": reference, "dir": tmp}


def workflow_files(tmp: Path) -> list[WorkflowFile]:
    inputs = fake_inputs(tmp)
    # known sites that fit the reference (the workflow checks them before any job)
    (tmp / "known.vcf").write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=2000>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    )
    pysam.tabix_index(str(tmp / "known.vcf"), preset="vcf", force=True)
    config = {
        "samples": str(inputs["samples"]),
        "units": str(inputs["units"]),
        "reference": {"fasta": str(inputs["reference"])},
        "outdir": OUTDIR,
        "calling": {
            "callers": ["bcftools", "freebayes", "gatk", "deepvariant"],
            "scatter": 2,
            "joint": True,
            "gatk": {"bqsr": True, "known_sites": [str(tmp / "known.vcf.gz")]},
        },
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(config))
    from seqpipe.execution.command import snakemake_argv, workflow_environment

    argv = snakemake_argv(
        "local",
        profiles=REPO / "profiles",
        configfile=tmp / "config.yaml",
        extra=["--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp), "-n", "--cores", "2"],
    )
    done = subprocess.run(
        [sys.executable, "-m", *argv],
        capture_output=True,
        text=True,
        cwd=tmp,
        env=workflow_environment(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return _parse(done.stdout + done.stderr)


def _parse(printed: str) -> list[WorkflowFile]:
    files: dict[str, WorkflowFile] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", printed):
        fields = dict(re.findall(r"^    (\w+): (.*)$", block, re.M))
        wildcards = dict(w.split("=", 1) for w in fields.get("wildcards", "").split(", ") if "=" in w)
        sample, group = _owner(wildcards)
        for kind in ("output", "log", "benchmark"):
            for path in filter(None, fields.get(kind, "").split(", ")):
                if path.startswith(f"{OUTDIR}/"):
                    files[path] = WorkflowFile(path, sample, group, path.split("/")[1] in ("calls", "align"))
    return sorted(files.values(), key=lambda f: f.path)


def _owner(wildcards: dict[str, str]) -> tuple[str | None, str | None]:
    if "sample" in wildcards:
        return wildcards["sample"], None
    if "group" in wildcards:
        return None, wildcards["group"]
    if "name" in wildcards:
        return (wildcards["name"], None) if wildcards.get("scope") == "sample" else (None, wildcards["name"])
    prefix = wildcards.get("prefix", "")
    if prefix.startswith("joint/"):
        return None, prefix.removeprefix("joint/").split(".")[0]
    if prefix:
        return prefix.split(".")[0], None
    return None, None
