"""Human-like genomes end to end (seqpipe simulate --layout human-like): sex-aware calling by every
caller, sex inference and the check against the sheet, ALT/decoy/unplaced contigs aligned to but not
called; and the bad inputs that stop a run before any job."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pysam
import pytest
import yaml

from seqpipe.accuracy import evaluate, strata_in_dir
from seqpipe.qc.verdicts import FAIL, PASS, read_verdicts
from seqpipe.reference.regions import read_bed
from seqpipe.simulate.human_like import HumanLikeParams, simulate_human_like
from seqpipe.simulate.intervals import merge

from .conftest import PipelineRun, snakemake, write_config

CALLERS = ("bcftools", "freebayes")
SEX = {"M1": "male", "F1": "female"}
NOT_CALLED = ("chr1_KI270762v1_alt", "chrUn_JTFH01000001v1_decoy", "chrUn_KI270302v1")
# Floors on the primary assembly (measured: docs/human-genomes.md); every caller, every sample.
FLOORS = {"SNV": 0.95, "indel": 0.90}


@pytest.fixture(scope="module")
def human_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("human") / "data"
    simulate_human_like(HumanLikeParams(outdir=data, seed=3))
    return data


def _config(path: Path, data: Path, samples: Path, **settings: object) -> Path:
    generated = yaml.safe_load((data / "config.yaml").read_text())
    return write_config(
        path,
        **{**generated, "samples": str(samples), "outdir": str(path.parent / "results"), **settings},
    )


@pytest.fixture(scope="module")
def human_run(human_data: Path) -> PipelineRun:
    """Both callers, joint calling of the mixed-sex family; M1's sheet says 'unknown' (called as inferred)."""
    workdir = human_data.parent
    sheet = workdir / "samples.tsv"
    sheet.write_text("sample\tgroup\tsex\nM1\tfamily\tunknown\nF1\tfamily\tfemale\n")
    config = _config(workdir / "config.yaml", human_data, sheet, calling={"scatter": 3, "joint": True})
    result = snakemake("--configfile", str(config), "--cores", "2", workdir=workdir)
    assert result.returncode == 0, result.stderr[-5000:]
    return PipelineRun(human_data, workdir / "results", config, result)


def _vcfs(sample: str) -> list[str]:
    return [f"vcf/{sample}.{c}.vcf.gz" for c in CALLERS] + [f"vcf/joint/family.{c}.vcf.gz" for c in CALLERS]


def _genotypes(vcf: Path, sample: str, contigs: tuple[str, ...] = ()) -> list[tuple[str, int, tuple]]:
    with pysam.VariantFile(str(vcf)) as calls:
        return [(r.chrom, r.pos, r.samples[sample]["GT"]) for r in calls if not contigs or r.chrom in contigs]


def _non_par(data: Path) -> list[tuple[str, int, int]]:
    return read_bed(data / "strata" / "x_non_par.bed") + read_bed(data / "strata" / "y_non_par.bed")


def _assert_male_haploid_outside_the_pars(run: PipelineRun, vcf: str) -> None:
    non_par = _non_par(run.data)
    calls = [
        gt
        for chrom, pos, gt in _genotypes(run.path(vcf), "M1", ("chrX", "chrY"))
        if any(c == chrom and s < pos <= e for c, s, e in non_par) and None not in gt
    ]
    assert len(calls) > 150  # the hemizygous truth is called...
    assert not [gt for gt in calls if len(set(gt)) > 1]  # ...and never heterozygous
    assert {len(gt) for gt in calls if 1 in gt} == {1}  # haploid


@pytest.mark.parametrize("vcf", _vcfs("M1"))
def test_a_male_gets_no_heterozygous_call_outside_the_pars(human_run: PipelineRun, vcf: str) -> None:
    _assert_male_haploid_outside_the_pars(human_run, vcf)


@pytest.fixture(scope="module")
def human_gatk(human_run: PipelineRun, tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    """GATK on M1 (declared 'unknown', called as inferred: male), from a copy of the run's CRAMs."""
    workdir = tmp_path_factory.mktemp("human-gatk")
    shutil.copytree(human_run.outdir, workdir / "results", symlinks=True)
    config = _config(workdir / "config.yaml", human_run.data, human_run.outdir.parent / "samples.tsv",
                     calling={"callers": ["gatk"], "scatter": 3})  # fmt: skip
    vcf = workdir / "results" / "vcf" / "M1.gatk.vcf.gz"
    result = snakemake("--configfile", str(config), "--cores", "2", str(vcf), workdir=workdir)
    assert result.returncode == 0, result.stderr[-5000:]
    return PipelineRun(human_run.data, workdir / "results", config, result)


def test_gatk_calls_a_male_haploid_outside_the_pars_and_meets_the_floors(human_gatk: PipelineRun) -> None:
    log = human_gatk.result.stdout + human_gatk.result.stderr
    for ploidy in (1, 2):  # one HaplotypeCaller per ploidy on the chunk's intervals of that ploidy
        assert f"M1.000.gatk_ploidy{ploidy}.bed --sample-ploidy {ploidy} -ERC GVCF" in log
    assert "rule map_reads:" not in log
    _assert_male_haploid_outside_the_pars(human_gatk, "vcf/M1.gatk.vcf.gz")
    _assert_floors_and_haploid_recall(human_gatk, "gatk", "M1")


def _assert_floors_and_haploid_recall(run: PipelineRun, caller: str, sample: str) -> None:
    data = run.data
    result = evaluate(
        data / "truth" / f"{sample}.vcf.gz",
        run.path(f"vcf/{sample}.{caller}.vcf.gz"),
        data / "reference" / "genome.fa",
        sample,
        strata_in_dir(data / "strata"),
        pass_only=True,
    )
    for kind, floor in FLOORS.items():
        assert result.metrics["primary"][kind].f1 >= floor, (kind, result.table())
        assert result.metrics["not_called"][kind].tp_call + result.metrics["not_called"][kind].fp == 0
    # reads of F1's ALT haplotype make no false call on chr1 (the ALT's differences are her truth)
    alt = result.metrics["alt_region"]["SNV"]
    assert alt.fp == 0 and (alt.tp == 0 if sample == "M1" else alt.recall >= 0.95)
    if sample == "M1":
        for stratum in ("x_non_par", "y_non_par"):
            snv = result.metrics[stratum]["SNV"]
            assert snv.fp == 0 and snv.recall_gt >= 0.95, result.table()


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("sample", SEX)
def test_calls_meet_the_floors_and_hemizygous_truth_is_recalled_haploid(
    human_run: PipelineRun, caller: str, sample: str
) -> None:
    _assert_floors_and_haploid_recall(human_run, caller, sample)


def test_a_female_is_not_called_on_y(human_run: PipelineRun) -> None:
    for vcf in _vcfs("F1"):
        assert not [gt for _, _, gt in _genotypes(human_run.path(vcf), "F1", ("chrY",)) if 1 in gt], vcf
    assert (
        "chrY\t1\t60000\tF\t0" in human_run.path("calls/ploidy/joint/family.bcftools_ploidy.txt").read_text()
    )


def test_sex_is_inferred_for_every_sample_and_unknown_is_called_as_inferred(human_run: PipelineRun) -> None:
    for sample, sex in SEX.items():
        inferred = json.loads(human_run.path(f"qc/sex/{sample}.sex.json").read_text())
        assert inferred["inferred"] == sex, inferred
    assert human_run.path("calls/ploidy/sample/M1.bcftools_samples.txt").read_text() == "M1\tM\n"
    assert (
        "chrY\t0\t60000\tM1\t1" in human_run.path("calls/ploidy/joint/family.freebayes_cnv.bed").read_text()
    )
    checks = {v.sample: v for v in read_verdicts(human_run.path("qc/qc_summary.tsv")) if v.metric == "sex"}
    assert {s: v.verdict for s, v in checks.items()} == {"M1": PASS, "F1": PASS}
    report = json.loads(human_run.path("qc/multiqc_data/multiqc_data.json").read_text())
    assert "sex_check" in json.dumps(report["report_saved_raw_data"])


@pytest.fixture(scope="module")
def human_exome(tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    """The same genomes sequenced as an exome: reads only over targets, on chrX and chrY too."""
    data = tmp_path_factory.mktemp("human-exome") / "data"
    simulate_human_like(HumanLikeParams(outdir=data, seed=3, depth=40, exome_targets=60))
    config = _config(data.parent / "config.yaml", data, data / "samples.tsv",
                     calling={"callers": ["bcftools"], "scatter": 2})  # fmt: skip
    result = snakemake("--configfile", str(config), "--cores", "2", workdir=data.parent)
    assert result.returncode == 0, result.stderr[-5000:]
    return PipelineRun(data, data.parent / "results", config, result)


def test_an_exome_sex_is_inferred_right_from_its_targets(human_exome: PipelineRun) -> None:
    targets = read_bed(human_exome.data / "targets.bed")
    assert {c for c, _, _ in targets} == {"chr1", "chr2", "chr3", "chrX", "chrY"}
    for sample, sex in SEX.items():
        inferred = json.loads(human_exome.path(f"qc/sex/{sample}.sex.json").read_text())
        assert inferred["inferred"] == sex, inferred
        # X targets at half (male) or full (female) depth; Y targets only in the male
        x_ratio, y_ratio = (0.5, 0.5) if sex == "male" else (1.0, 0.0)
        assert abs(inferred["x_depth_ratio"] - x_ratio) < 0.15, inferred
        assert abs(inferred["y_depth_ratio"] - y_ratio) < 0.15, inferred
    checks = {
        v.sample: v.verdict for v in read_verdicts(human_exome.path("qc/qc_summary.tsv")) if v.metric == "sex"
    }
    assert checks == {"M1": PASS, "F1": PASS}


def test_a_swapped_sheet_fails_the_sex_check_naming_both_sexes(
    human_run: PipelineRun, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    shutil.copytree(human_run.outdir, results, symlinks=True)
    config = _config(tmp_path / "config.yaml", human_run.data, human_run.data / "samples_swapped.tsv")
    done = snakemake(
        "--configfile", str(config), "--cores", "1", "--forcerun", "check_sex", "summarize_qc",
        "--", str(results / "qc/sex_check.tsv"), str(results / "qc/qc_summary.tsv"), workdir=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    checks = {v.sample: v for v in read_verdicts(results / "qc/qc_summary.tsv") if v.metric == "sex"}
    assert checks["M1"].verdict == checks["F1"].verdict == FAIL
    assert checks["M1"].reason.startswith("declared female but the data are male (X/autosome depth 0.5")
    assert checks["F1"].reason.startswith("declared male but the data are female (X/autosome depth 1.0")
    assert "M1\tfemale\tmale\tFAIL" in (results / "qc/sex_check_mqc.tsv").read_text()


def test_alt_decoy_and_unplaced_contigs_are_aligned_to_but_not_called(human_run: PipelineRun) -> None:
    for sample in SEX:
        idxstats = human_run.path(f"qc/samtools/{sample}.idxstats").read_text().splitlines()
        mapped = {f[0]: int(f[2]) for f in (line.split("\t") for line in idxstats)}
        # the ALT contig draws the reads of F1's ALT haplotype; M1 has none
        aligned_to = NOT_CALLED if sample == "F1" else NOT_CALLED[1:]
        assert all(mapped[contig] > 500 for contig in aligned_to), mapped
        for vcf in _vcfs(sample):
            assert not _genotypes(human_run.path(vcf), sample, NOT_CALLED)
    chunks = [r for bed in sorted(human_run.path("reference/chunks").glob("*.bed")) for r in read_bed(bed)]
    assert {c for c, _, _ in chunks} == {"chr1", "chr2", "chr3", "chrX", "chrY"}
    # the .alt travels with the reference: bwa aligned ALT-aware, and it is in the bundle hosts cache
    assert "genome.fa.alt" in human_run.path("reference/bundle.sha256").read_text()
    assert "read 1 ALT contigs" in human_run.path("logs/map_reads/M1.L001.log").read_text()


# Bad input: each stops the dry run before any job, saying what to change.


def _dry_run(config: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """The run's printout (Snakemake prints errors of the workflow's parsing on stdout) in stdout."""
    done = snakemake("--configfile", str(config), "-n", "--cores", "1", *args, workdir=workdir)
    done.stdout += done.stderr
    return done


def test_an_alt_file_naming_missing_contigs_stops_the_run(human_data: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    shutil.copytree(human_data / "reference", reference)
    alt = reference / "genome.fa.alt"
    alt.write_text(alt.read_text() + "chr9_KI270823v1_alt\t0\tchr9\t1\t255\t100M\t*\t0\t0\t*\t*\n")
    config = _config(tmp_path / "config.yaml", human_data, human_data / "samples.tsv",
                     reference={"fasta": str(reference / "genome.fa"), "build": "GRCh38"})  # fmt: skip
    done = _dry_run(config, tmp_path)
    assert done.returncode != 0
    assert f"{alt} line 2: ALT contig 'chr9_KI270823v1_alt' is not in the reference FASTA" in done.stdout
    assert f"{alt} line 2: primary contig 'chr9' is not in the reference FASTA" in done.stdout


def test_a_sex_outside_the_schema_names_file_line_and_field(human_data: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("sample\tgroup\tsex\nM1\tfamily\tmale\nF1\tfamily\tF\n")
    done = _dry_run(_config(tmp_path / "config.yaml", human_data, sheet), tmp_path)
    assert done.returncode != 0
    assert f"{sheet} line 3, field 'sex': 'F' is not one of female, male, unknown" in done.stdout


@pytest.mark.parametrize("sex", ["male", "unknown"])
def test_unknown_pars_with_a_possible_male_stop_before_any_job(
    human_data: Path, tmp_path: Path, sex: str
) -> None:
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(f"sample\tsex\nM1\t{sex}\nF1\tfemale\n")
    reference = {"fasta": str(human_data / "reference" / "genome.fa"), "build": "T2T-CHM13"}
    config = _config(tmp_path / "config.yaml", human_data, sheet, reference=reference)
    done = _dry_run(config, tmp_path)
    assert done.returncode != 0
    assert "the PARs of chrX/chrY are unknown, and samples M1 are male or of unknown sex" in done.stdout
    assert "or give them as reference.par, 1-based inclusive" in done.stdout


def test_gatk_intervals_follow_each_sex(human_data: Path, tmp_path: Path) -> None:
    config = _config(tmp_path / "config.yaml", human_data, human_data / "samples.tsv",
                     calling={"callers": ["gatk"], "scatter": 2})  # fmt: skip
    out = tmp_path / "results"
    # the intervals themselves, made for real: M1 is haploid on non-PAR X and on Y; F1 has no Y
    beds = [
        f"calls/ploidy/sample/{s}.{c}.gatk_ploidy{p}.bed" for s in SEX for c in ("000", "001") for p in (1, 2)
    ]
    made = snakemake(
        "--configfile", str(config), "--cores", "1", *[str(out / b) for b in beds], workdir=tmp_path
    )
    assert made.returncode == 0, made.stderr[-3000:]

    def regions(sample: str, ploidy: int) -> list[tuple[str, int, int]]:
        """Over both chunks, touching intervals joined (a chunk edge may cut one)."""
        paths = [out / f"calls/ploidy/sample/{sample}.{c}.gatk_ploidy{ploidy}.bed" for c in ("000", "001")]
        return merge(r for path in paths for r in read_bed(path))

    assert regions("M1", 1) == [("chrX", 15_000, 80_000), ("chrX", 83_000, 152_000), ("chrY", 15_000, 52_000)]
    assert not [r for r in regions("M1", 2) if r[0] == "chrY"]
    assert regions("F1", 1) == [] and not [r for r in regions("F1", 2) if r[0] == "chrY"]
    assert ("chrX", 83_000, 160_000) in regions("F1", 2)
