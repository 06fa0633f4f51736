"""One real run on generated data: outputs, their validity, accuracy against the truth, QC and provenance."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pysam
import pytest

from seqpipe.aws import qc
from seqpipe.aws.repositories import Repositories
from seqpipe.aws.settings import Settings
from seqpipe.aws.tables import create_tables
from seqpipe.provenance import file_digest
from seqpipe.qc.verdicts import Verdict, read_verdicts, sample_verdict

from .conftest import VENV_BIN, PipelineRun, shell_without_venv, snakemake, write_config

SAMPLES = ("S1", "S2")
CALLERS = ("bcftools", "freebayes")


def test_contract_outputs_exist(pipeline_run: PipelineRun) -> None:
    expected = [f"cram/{s}.cram{ext}" for s in SAMPLES for ext in ("", ".crai", ".md5")]
    expected += [f"vcf/{s}.{c}.vcf.gz{ext}" for s in SAMPLES for c in CALLERS for ext in ("", ".tbi")]
    expected += [f"vcf/joint/demo.{c}.vcf.gz" for c in CALLERS]
    expected += [
        "qc/multiqc_report.html",
        "qc/qc_summary.tsv",
        "qc/qc_summary.json",
        "manifest/run_manifest.json",
    ]
    missing = [p for p in expected if not pipeline_run.path(p).is_file()]
    assert not missing


def test_seqpipe_run_needs_no_activated_venv(pipeline_run: PipelineRun) -> None:
    """The shared run is `.venv/bin/seqpipe run` from a shell whose PATH has neither multiqc nor snakemake."""
    path = shell_without_venv()["PATH"]
    assert shutil.which("multiqc", path=path) is None and shutil.which("snakemake", path=path) is None
    assert pipeline_run.result.args[:2] == [str(Path(VENV_BIN) / "seqpipe"), "run"]
    assert pipeline_run.path("qc/multiqc_report.html").is_file()


def test_intermediates_are_removed(pipeline_run: PipelineRun) -> None:
    leftovers = [p for p in pipeline_run.outdir.rglob("*") if p.suffix in {".bam", ".bcf", ".sam"}]
    assert not leftovers, leftovers
    assert not list(pipeline_run.outdir.glob("trimmed*"))


@pytest.mark.parametrize("sample", SAMPLES)
def test_cram_is_readable_with_the_reference_and_matches_its_md5(
    pipeline_run: PipelineRun, sample: str
) -> None:
    cram = pipeline_run.path(f"cram/{sample}.cram")
    reference = pipeline_run.path("reference/genome.fa")
    subprocess.run(["samtools", "quickcheck", str(cram)], check=True)
    with pysam.AlignmentFile(str(cram), "rc", reference_filename=str(reference)) as aln:
        records = sum(1 for _ in aln.fetch(until_eof=True))
        header = aln.header.to_dict()
    flagstat_total = int(pipeline_run.path(f"qc/samtools/{sample}.flagstat").read_text().split()[0])
    assert records == flagstat_total > 10_000
    assert all("M5" in sq for sq in header["SQ"])
    assert {rg["ID"] for rg in header["RG"]} == {f"{sample}.L001", f"{sample}.L002"}
    assert {rg["SM"] for rg in header["RG"]} == {sample}
    digest, name = pipeline_run.path(f"cram/{sample}.cram.md5").read_text().split()
    assert name == f"{sample}.cram" and digest == file_digest(cram, "md5")
    with pysam.AlignmentFile(str(cram), "rc", reference_filename=str(reference)) as aln:
        assert next(aln.fetch("chr1", 10_000, 10_500), None) is not None  # the .crai works


@pytest.mark.parametrize("caller", CALLERS)
def test_vcfs_are_valid_indexed_normalized_and_soft_filtered(pipeline_run: PipelineRun, caller: str) -> None:
    pipeline_run.assert_vcf_contract("S1", caller)


def test_filtered_records_are_kept_not_dropped(pipeline_run: PipelineRun) -> None:
    flagged = 0
    for vcf in pipeline_run.outdir.glob("vcf/*.vcf.gz"):
        with pysam.VariantFile(str(vcf)) as variants:
            flagged += sum(1 for r in variants if "PASS" not in r.filter)
    assert flagged > 0


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("sample", SAMPLES)
def test_accuracy_against_the_truth_meets_the_floors(
    pipeline_run: PipelineRun, sample: str, caller: str
) -> None:
    pipeline_run.assert_meets_floors(sample, caller)


def test_joint_vcf_holds_every_sample_of_the_group(pipeline_run: PipelineRun) -> None:
    with pysam.VariantFile(str(pipeline_run.path("vcf/joint/demo.bcftools.vcf.gz"))) as joint:
        assert list(joint.header.samples) == ["S1", "S2"]
        assert sum(1 for _ in joint) > 200


def test_multiqc_report_has_every_tool_section(pipeline_run: PipelineRun) -> None:
    data = json.loads(pipeline_run.path("qc/multiqc_data/multiqc_data.json").read_text())
    sources = pipeline_run.path("qc/multiqc_data/multiqc_sources.txt").read_text()
    modules = ("FastQC", "fastp", "Samtools", "Mosdepth", *(f"Bcftools: {c} calls" for c in CALLERS))
    for module in (*modules, "Bcftools: joint calls"):
        assert f"\n{module}\t" in sources, module
    assert "markdup" in sources
    html = pipeline_run.path("qc/multiqc_report.html").read_text()
    assert "QC verdicts" in html and "seqpipe workflow" in html
    assert "S1" in json.dumps(data["report_general_stats_data"])


def test_general_statistics_has_one_full_row_per_sample(pipeline_run: PipelineRun) -> None:
    """Lanes and read files fold into the sample's row; each caller's VCF statistics are its own columns."""
    lines = pipeline_run.path("qc/multiqc_data/multiqc_general_stats.txt").read_text().splitlines()
    header, rows = lines[0].split("\t"), [line.split("\t") for line in lines[1:]]
    assert sorted(row[0] for row in rows) == list(SAMPLES)
    assert all(all(cell != "" for cell in row) for row in rows), "a sample's row has empty cells"
    for caller in CALLERS:
        assert f"bcftools_{caller}_calls_stats-tstv" in header
    data = json.loads(pipeline_run.path("qc/multiqc_data/multiqc_data.json").read_text())
    assert all(set(by_sample) == set(SAMPLES) for by_sample in data["report_general_stats_data"].values())


def test_qc_verdicts_pass_on_good_data(pipeline_run: PipelineRun) -> None:
    verdicts = read_verdicts(pipeline_run.path("qc/qc_summary.tsv"))
    assert {v.sample for v in verdicts} == set(SAMPLES)
    # two samples: also the identity and contamination checks (unrelated, clean); two lanes each: the
    # read pairs passing fastp's filters are checked per lane too
    assert {v.metric for v in verdicts} == {
        "mapped_pct", "mean_depth", "duplicate_pct", "tstv", "identity_discordance", "contamination_pct",
        "pairs_passing_pct", "q30_pct", "adapter_trimmed_pct",
        "pairs_passing_pct.L001", "pairs_passing_pct.L002",
    }  # fmt: skip
    assert all(v.verdict == "PASS" for v in verdicts), verdicts
    depth = {v.sample: v.value for v in verdicts if v.metric == "mean_depth"}
    assert 27 < depth["S1"] < 33 and 17 < depth["S2"] < 23


def test_second_run_has_nothing_to_do(pipeline_run: PipelineRun) -> None:
    result = snakemake("--configfile", str(pipeline_run.config), "-n", workdir=pipeline_run.outdir.parent)
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_snakemake_report_is_written(pipeline_run: PipelineRun, tmp_path: Path) -> None:
    report = tmp_path / "report.zip"
    result = snakemake(
        "--configfile", str(pipeline_run.config), "--report", str(report), workdir=pipeline_run.outdir.parent
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert report.stat().st_size > 10_000


def test_run_manifest_records_versions_config_and_checksums(pipeline_run: PipelineRun) -> None:
    manifest = json.loads(pipeline_run.path("manifest/run_manifest.json").read_text())
    assert {"bwa", "samtools", "bcftools", "freebayes", "fastp", "fastqc", "mosdepth", "multiqc"} <= set(
        manifest["software_versions"]
    )
    assert all(manifest["software_versions"].values())
    assert manifest["config"]["calling"]["joint"] is True
    reads = [i for i in manifest["inputs"] if i["path"].endswith(".fastq.gz")]
    assert len(reads) == 8 and all(len(i["sha256"]) == 64 for i in reads)
    for entry in manifest["outputs"]:
        assert file_digest(entry["path"]) == entry["sha256"], entry["path"]


def test_every_job_leaves_a_log_and_a_benchmark(pipeline_run: PipelineRun) -> None:
    benchmarks = list(pipeline_run.path("benchmarks").rglob("*.tsv"))
    logs = list(pipeline_run.path("logs").rglob("*.log"))
    assert len(benchmarks) >= 40 and len(logs) >= 40
    # mark_duplicates writes the CRAM (no convert_to_cram); checksum_sample its md5s
    expected = {"map_reads", "mark_duplicates", "checksum_sample", "infer_sex", "identity"}
    assert {b.parts[-2] for b in benchmarks} >= expected


def test_stricter_thresholds_fail_with_the_reason_without_realigning(
    pipeline_run: PipelineRun, tmp_path: Path
) -> None:
    strict = write_config(
        tmp_path / "strict.yaml", qc={"thresholds": {"mean_depth": {"min": 25}, "mapped_pct": {"min": 95}}}
    )
    result = snakemake(
        "--configfile",
        str(pipeline_run.config),
        str(strict),
        "--cores",
        "2",
        workdir=pipeline_run.outdir.parent,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    log = result.stdout + result.stderr
    assert "rule summarize_qc" in log and "rule map_reads" not in log and "rule call_" not in log
    failing = [v for v in read_verdicts(pipeline_run.path("qc/qc_summary.tsv")) if v.verdict == "FAIL"]
    assert [(v.sample, v.metric) for v in failing] == [("S2", "mean_depth")]
    assert re.fullmatch(r"mean_depth (19|20)(\.\d+)? is below the minimum 25", failing[0].reason)
    # put the default verdicts back for the other tests
    assert (
        snakemake(
            "--configfile", str(pipeline_run.config), "--cores", "2", workdir=pipeline_run.outdir.parent
        ).returncode
        == 0
    )


@pytest.mark.aws
def test_qc_recorded_in_dynamodb_is_the_pipelines_qc_summary(
    pipeline_run: PipelineRun, aws, tmp_path: Path
) -> None:
    """The quality-metrics Lambda (summary on S3) and `seqpipe run --record` (summary on disk) store
    the verdicts of qc_summary.tsv, per sample and per check; stricter thresholds make S2 fail."""
    strict = write_config(tmp_path / "strict.yaml", qc={"thresholds": {"mean_depth": {"min": 25}}})
    rerun = snakemake(
        "--configfile", str(pipeline_run.config), str(strict), "--cores", "2", "--until", "summarize_qc",
        workdir=pipeline_run.outdir.parent,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    settings = Settings.from_env()
    create_tables(aws("dynamodb"), settings.table_names())
    aws("s3").create_bucket(Bucket=settings.processed_bucket)
    summary = pipeline_run.path("qc/qc_summary.json")
    aws("s3").upload_file(str(summary), settings.processed_bucket, "runs/R_S3/qc/qc_summary.json")
    repos = Repositories.from_settings(settings)
    samples = list(SAMPLES)
    from_s3 = qc.collect_run(
        repos.quality, "R_S3", "P1", samples, f"s3://{settings.processed_bucket}/runs/R_S3"
    )
    from_disk = qc.collect_run(repos.quality, "R_DISK", "P1", samples, str(pipeline_run.outdir))

    pipeline = read_verdicts(pipeline_run.path("qc/qc_summary.tsv"))
    verdicts = {s: sample_verdict(v for v in pipeline if v.sample == s) for s in SAMPLES}
    assert verdicts == {"S1": "PASS", "S2": "FAIL"}
    outcomes = [(result["passed"], result["failed"]) for result in (from_s3, from_disk)]
    assert outcomes == [(["S1"], ["S2"])] * 2
    for run_id in ("R_S3", "R_DISK"):
        items = repos.quality.of_run(run_id)
        assert {i["sample"]: i["verdict"] for i in items} == verdicts
        stored = [
            Verdict(**{**c, "value": None if c["value"] is None else float(c["value"])})
            for i in items
            for c in i["checks"]
        ]
        assert sorted(stored, key=repr) == sorted(pipeline, key=repr)
    # put the default verdicts back for the other tests
    restored = snakemake(
        "--configfile", str(pipeline_run.config), "--cores", "2", workdir=pipeline_run.outdir.parent
    )
    assert restored.returncode == 0, restored.stdout[-3000:]


def test_picard_marks_the_same_duplicates_as_samtools(pipeline_run: PipelineRun, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "picard.yaml", outdir=str(tmp_path / "picard"), duplicates={"tool": "picard"}
    )
    target = tmp_path / "picard" / "qc" / "markdup" / "S2.markdup.txt"
    result = snakemake(
        "--configfile",
        str(pipeline_run.config),
        str(config),
        "--cores",
        "2",
        str(target),
        workdir=pipeline_run.outdir.parent,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    from seqpipe.qc.metrics import duplicate_pct

    picard = duplicate_pct(target)
    samtools = duplicate_pct(pipeline_run.path("qc/markdup/S2.markdup.txt"))
    assert abs(picard - samtools) < 0.5, (picard, samtools)
    with gzip.open(pipeline_run.data / "reads" / "S2_L001_R1.fastq.gz", "rt") as fh:
        assert fh.readline().startswith("@")
