"""Incremental joint genotyping (rules/joint.smk): a group of two samples called with GATK, then a third
sample added to the group. Real runs on a simulated 200 kb genome; DeepVariant's path is checked by dry
runs (its model weights cannot be fetched here).

Consistent, between the two-sample and the three-sample VCF: for each of the first two samples, the
sites where its genotype carries an ALT allele and the record passes the filters are (almost) the same
set, and its genotypes at the sites in both agree. Joint genotyping may legitimately move a marginal call
when a sample joins (the site's QUAL and the genotype priors pool all samples), so the floor is 0.99,
not identity; an updated workspace and a rebuilt one must agree byte for byte.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from seqpipe.execution.command import workflow_environment
from seqpipe.genomicsdb_workspace import RECORD, plan_import, workspace_samples
from seqpipe.simulate import SimulationParams, simulate

from .conftest import snakemake, write_config
from .test_dag import dry_run

GROUP = "demo"  # the simulator's group of all its samples
CHUNKS = ("000", "001")
FIRST, ADDED = ("S1", "S2"), "S3"
JOINT_VCF = f"vcf/joint/{GROUP}.gatk.vcf.gz"


@dataclass
class CohortRuns:
    """The joint VCFs and import receipts of the two-sample run, then of the run after S3 joined."""

    outdir: Path
    config: Path
    two: Path
    three: Path
    receipts_two: dict[str, dict]
    receipts_three: dict[str, dict]
    planned_jobs: list[tuple[str, dict[str, str]]]
    stamps_before: dict[str, int]
    stamps_after: dict[str, int]
    import_logs: list[str]  # the second run's

    def path(self, relative: str) -> Path:
        return self.outdir / relative


def receipts(outdir: Path) -> dict[str, dict]:
    return {
        chunk: json.loads((outdir / f"calls/gatk/joint/{GROUP}.{chunk}.imports.json").read_text())
        for chunk in CHUNKS
    }


def gvcf_mtimes(outdir: Path, samples: tuple[str, ...]) -> dict[str, int]:
    return {s: (outdir / f"vcf/gvcf/{s}.gatk.g.vcf.gz").stat().st_mtime_ns for s in samples}


def planned(printed: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, wildcards) of each job a dry run prints."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", printed):
        if rule := re.match(r"(?:local)?rule (\w+):", block):
            found = re.search(r"^\s+wildcards: (.*)$", block, re.M)
            pairs = found.group(1).split(", ") if found else []
            jobs.append((rule.group(1), dict(p.split("=", 1) for p in pairs)))
    return jobs


def sheet_of(source: Path, target: Path, samples: tuple[str, ...]) -> Path:
    """`source` (a TSV with a header and the sample in its first column) restricted to `samples`."""
    header, *rows = source.read_text().splitlines()
    target.write_text("\n".join([header, *(r for r in rows if r.split("\t")[0] in samples)]) + "\n")
    return target


def joint_run(config: Path, outdir: Path, *extra: str) -> None:
    """The group's joint VCF (and what it needs) only: the per-sample VCFs are another test's matter."""
    result = snakemake(
        "--configfile",
        str(config),
        "--cores",
        "2",
        *extra,
        "--",
        str(outdir / JOINT_VCF),
        workdir=config.parent,
    )
    assert result.returncode == 0, result.stderr[-5000:]


@pytest.fixture(scope="module")
def cohort_runs(tmp_path_factory: pytest.TempPathFactory) -> CohortRuns:
    base = tmp_path_factory.mktemp("joint")
    data = base / "data"
    simulate(
        SimulationParams(
            outdir=data,
            seed=5,
            genome_size=200_000,
            samples=(("S1", 20.0), ("S2", 20.0), ("S3", 20.0)),
            units_per_sample=1,
        )
    )
    outdir = base / "results"
    settings = dict(
        reference={"fasta": str(data / "reference" / "genome.fa")},
        outdir=str(outdir),
        calling={"callers": ["gatk"], "scatter": 2, "joint": True},
    )
    two = write_config(
        base / "two.yaml",
        samples=str(sheet_of(data / "samples.tsv", base / "samples2.tsv", FIRST)),
        units=str(sheet_of(data / "units.tsv", base / "units2.tsv", FIRST)),
        **settings,
    )
    joint_run(two, outdir)
    kept_two = shutil.copy(outdir / JOINT_VCF, base / "two.vcf.gz")
    receipts_two = receipts(outdir)
    stamps_before = gvcf_mtimes(outdir, FIRST)

    three = write_config(
        base / "three.yaml", samples=str(data / "samples.tsv"), units=str(data / "units.tsv"), **settings
    )
    dry = snakemake(
        "--configfile", str(three), "-n", "--cores", "2", "--", str(outdir / JOINT_VCF), workdir=base
    )
    assert dry.returncode == 0, dry.stderr[-3000:]
    joint_run(three, outdir)
    kept_three = shutil.copy(outdir / JOINT_VCF, base / "three.vcf.gz")
    return CohortRuns(
        outdir,
        three,
        Path(kept_two),
        Path(kept_three),
        receipts_two,
        receipts(outdir),
        planned(dry.stdout + dry.stderr),
        stamps_before,
        gvcf_mtimes(outdir, FIRST),
        [(outdir / f"logs/calls/gatk/joint/{GROUP}.{chunk}.log").read_text() for chunk in CHUNKS],
    )


def test_adding_a_sample_computes_only_its_own_gvcf(cohort_runs: CohortRuns) -> None:
    jobs = cohort_runs.planned_jobs
    per_sample = [(rule, wc["sample"]) for rule, wc in jobs if "sample" in wc]
    assert per_sample and {sample for _, sample in per_sample} == {ADDED}, per_sample
    assert sorted(wc["chunk"] for rule, wc in jobs if rule == "call_gatk_gvcf") == list(CHUNKS)
    assert [wc for rule, wc in jobs if rule == "gather_gvcf"] == [{"sample": ADDED, "caller": "gatk"}]
    assert sorted(wc["chunk"] for rule, wc in jobs if rule == "genotype_gatk_joint") == list(CHUNKS)
    # the first two samples' kept GVCFs were not rewritten by the second run
    assert cohort_runs.stamps_after == cohort_runs.stamps_before


def test_the_workspace_imports_only_the_new_sample(cohort_runs: CohortRuns) -> None:
    for chunk in CHUNKS:
        first, second = cohort_runs.receipts_two[chunk], cohort_runs.receipts_three[chunk]
        assert first["rebuilt"] and first["imported"] == list(FIRST)
        assert not second["rebuilt"] and second["imported"] == [ADDED], second["reason"]
        assert second["samples"] == [*FIRST, ADDED]
        assert workspace_samples(Path(second["workspace"])) == [*FIRST, ADDED]
    for log in cohort_runs.import_logs:
        (command,) = [line for line in log.splitlines() if line.startswith("gatk ")]
        assert re.findall(r"-V (\S+)", command) == [str(cohort_runs.path(f"vcf/gvcf/{ADDED}.gatk.g.vcf.gz"))]
        assert "--genomicsdb-update-workspace-path" in command
        assert "Importing batch 1 with 1 samples" in log


def calls(vcf: Path, sample: str) -> dict[str, str]:
    """The sample's genotype at each record that passes the filters and where it carries an ALT allele."""
    subset = subprocess.run(
        ["bcftools", "view", "-s", sample, "-f", "PASS", "-Ou", str(vcf)],
        capture_output=True,
        check=True,
    )
    query = subprocess.run(
        ["bcftools", "query", "-i", 'GT="alt"', "-f", "%CHROM:%POS:%REF:%ALT\t[%GT]\n"],
        input=subset.stdout,
        capture_output=True,
        check=True,
    )
    return dict(line.split("\t") for line in query.stdout.decode().splitlines())


def samples_of(vcf: Path) -> list[str]:
    listed = subprocess.run(["bcftools", "query", "-l", str(vcf)], capture_output=True, text=True, check=True)
    return listed.stdout.split()


@pytest.mark.parametrize("sample", FIRST)
def test_first_samples_calls_agree_between_two_and_three_sample_vcfs(
    cohort_runs: CohortRuns, sample: str
) -> None:
    assert samples_of(cohort_runs.two) == list(FIRST)
    assert samples_of(cohort_runs.three) == [*FIRST, ADDED]
    two, three = calls(cohort_runs.two, sample), calls(cohort_runs.three, sample)
    shared = two.keys() & three.keys()
    assert len(two) > 100  # a 200 kb genome with ~1 variant per kb per sample
    assert len(shared) / len(two.keys() | three.keys()) >= 0.99
    assert sum(two[site] == three[site] for site in shared) / len(shared) >= 0.99


@pytest.fixture(scope="module")
def rebuilt_vcf(cohort_runs: CohortRuns) -> Path:
    """The three-sample joint VCF again, from workspaces rebuilt from scratch (their records removed, as
    a failed import leaves them)."""
    for receipt in cohort_runs.receipts_three.values():
        (Path(receipt["workspace"]) / RECORD).unlink()
    joint_run(cohort_runs.config, cohort_runs.outdir, "--forcerun", "genotype_gatk_joint")
    return cohort_runs.path(JOINT_VCF)


def test_an_updated_workspace_calls_what_a_rebuilt_one_calls(
    cohort_runs: CohortRuns, rebuilt_vcf: Path
) -> None:
    rebuilt = receipts(cohort_runs.outdir)
    assert all(r["rebuilt"] and r["imported"] == [*FIRST, ADDED] for r in rebuilt.values()), rebuilt
    assert rebuilt_vcf.read_bytes() == cohort_runs.three.read_bytes()


def workspace_inputs(cohort_runs: CohortRuns) -> tuple[Path, dict[str, str], str]:
    """The first chunk's workspace, the group's kept GVCFs and the chunk's intervals."""
    gvcfs = {s: str(cohort_runs.path(f"vcf/gvcf/{s}.gatk.g.vcf.gz")) for s in (*FIRST, ADDED)}
    workspace = Path(cohort_runs.receipts_three["000"]["workspace"])
    return workspace, gvcfs, str(cohort_runs.path("reference/chunks/000.bed"))


def test_an_unchanged_group_imports_nothing(cohort_runs: CohortRuns) -> None:
    plan = plan_import(*workspace_inputs(cohort_runs), kept=True)
    assert not plan.rebuild and plan.samples == {}


def test_a_sample_that_left_the_group_rebuilds_the_workspace(cohort_runs: CohortRuns) -> None:
    workspace, gvcfs, intervals = workspace_inputs(cohort_runs)
    del gvcfs["S2"]
    plan = plan_import(workspace, gvcfs, intervals, kept=True)
    assert plan.rebuild and plan.samples == gvcfs and "left the group: S2" in plan.reason


def test_a_rewritten_gvcf_rebuilds_the_workspace(cohort_runs: CohortRuns, tmp_path: Path) -> None:
    workspace, gvcfs, intervals = workspace_inputs(cohort_runs)
    copy = shutil.copy2(gvcfs["S1"], tmp_path / "S1.gatk.g.vcf.gz")  # same size and time: the same GVCF
    assert not plan_import(workspace, {**gvcfs, "S1": copy}, intervals, kept=True).rebuild
    os.utime(copy, ns=(0, 0))
    plan = plan_import(workspace, {**gvcfs, "S1": copy}, intervals, kept=True)
    assert plan.rebuild and "GVCF rewritten: S1" in plan.reason


def test_other_intervals_rebuild_the_workspace(cohort_runs: CohortRuns, tmp_path: Path) -> None:
    workspace, gvcfs, _ = workspace_inputs(cohort_runs)
    other = tmp_path / "001.bed"
    other.write_bytes(cohort_runs.path("reference/chunks/001.bed").read_bytes())
    plan = plan_import(workspace, gvcfs, str(other), kept=True)
    assert plan.rebuild and "intervals changed" in plan.reason


def test_a_workspace_not_kept_between_runs_is_rebuilt(cohort_runs: CohortRuns, tmp_path: Path) -> None:
    """Under S3 storage (--not-kept) the job rebuilds the workspace, where no folder of it exists yet."""
    workspace, gvcfs, intervals = workspace_inputs(cohort_runs)
    assert plan_import(workspace, gvcfs, intervals, kept=False).rebuild
    job_local = tmp_path / "job" / "calls" / "gatk" / "joint" / "demo.000.genomicsdb"
    receipt = tmp_path / "demo.000.imports.json"
    options = ["--workspace", str(job_local), "--intervals", intervals, "--receipt", str(receipt)]
    pairs = [f"{sample}={gvcf}" for sample, gvcf in gvcfs.items()]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "seqpipe.genomicsdb_workspace",
            *options,
            "--heap-mb",
            "1024",
            "--not-kept",
            *pairs,
        ],
        env=workflow_environment(),
        check=True,
    )
    done = json.loads(receipt.read_text())
    assert done["rebuilt"] and "S3 storage" in done["reason"] and done["imported"] == [*FIRST, ADDED]
    assert workspace_samples(job_local) == [*FIRST, ADDED]


def test_deepvariant_gvcfs_are_kept_and_glnexus_joins_them(tmp_path: Path, fake_inputs: dict) -> None:
    jobs, commands = dry_run(
        tmp_path, fake_inputs, calling={"callers": ["deepvariant"], "scatter": 2, "joint": True}
    )
    out = tmp_path / "out"
    assert jobs["call_deepvariant"] == 6 and jobs["gather_gvcf"] == 3
    assert jobs["genotype_deepvariant_joint"] == 4  # groups fam1 (A, B) and fam2 (C), two chunks each
    assert (
        "bcftools concat --no-version -Ov "
        f"$(for f in {out}/calls/deepvariant/gvcf/A.000.g.vcf.gz {out}/calls/deepvariant/gvcf/A.001.g.vcf.gz;"
    ) in commands
    assert f"bcftools view --no-version -Oz -o {out}/vcf/gvcf/A.deepvariant.g.vcf.gz && " in commands
    assert (
        f"glnexus_cli --config DeepVariantWGS --dir {out}/calls/deepvariant/tmp/fam1.001.GLnexus.DB "
        f"--bed {out}/reference/chunks/001.bed --threads 2 "
        f"{out}/vcf/gvcf/A.deepvariant.g.vcf.gz {out}/vcf/gvcf/B.deepvariant.g.vcf.gz"
    ) in commands
