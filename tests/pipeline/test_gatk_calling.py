"""GATK for real on the demo data: HaplotypeCaller per sample and chunk as GVCF, genotyped per sample into
the callers' VCF contract, with GATK's germline hard filters in FILTER; beside bcftools and FreeBayes, and
with BQSR against the simulated known sites. Known-sites VCFs that do not fit the reference stop a run
before any job.

The real GATK run starts from a copy of the shared run's results (its CRAMs and bcftools and FreeBayes
calls), so it runs only the jobs its configuration adds. It is one run with BQSR on: HaplotypeCaller
without BQSR runs in tests/pipeline/test_human_genomes.py and test_joint_genotyping.py."""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest

from seqpipe.execution import resources
from seqpipe.gatk_hard_filters import GERMLINE_HARD_FILTERS, SNV

from .conftest import PipelineRun, fake_config, run_from_copy, snakemake

SAMPLES = ("S1", "S2")
CALLERS = ["bcftools", "freebayes", "gatk"]


@pytest.fixture(scope="module")
def three_callers(pipeline_run: PipelineRun, tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    """GATK with BQSR added to bcftools and FreeBayes (per sample; GATK's joint genotyping is
    rules/joint.smk's). One run serves the GATK and the BQSR assertions."""
    known = pipeline_run.data / "known_sites" / "known_sites.vcf.gz"
    calling = {"callers": CALLERS, "scatter": 3, "gatk": {"bqsr": True, "known_sites": [str(known)]}}
    return run_from_copy(pipeline_run, tmp_path_factory.mktemp("gatk"), calling=calling)


def _jobs(run: PipelineRun, rule: str) -> int:
    return (run.result.stdout + run.result.stderr).count(f"rule {rule}:")


def test_adding_gatk_runs_only_the_gatk_jobs(three_callers: PipelineRun) -> None:
    assert _jobs(three_callers, "call_gatk_gvcf") == _jobs(three_callers, "genotype_gatk") == 2 * 3
    assert _jobs(three_callers, "recalibrate_base_qualities") == 2
    assert not [r for r in ("map_reads", "call_bcftools", "call_freebayes") if _jobs(three_callers, r)]
    for sample in SAMPLES:
        assert three_callers.path(f"vcf/{sample}.gatk.vcf.gz.tbi").is_file()


@pytest.mark.parametrize("sample", SAMPLES)
def test_gatk_vcfs_keep_the_callers_contract(three_callers: PipelineRun, sample: str) -> None:
    three_callers.assert_vcf_contract(sample, "gatk")
    with pysam.VariantFile(str(three_callers.path(f"vcf/{sample}.gatk.vcf.gz"))) as variants:
        assert list(variants.header.samples) == [sample]
        assert "GATKCommandLine" not in str(variants.header)  # no run dates or paths


@pytest.mark.parametrize("sample", SAMPLES)
def test_gatk_accuracy_against_the_truth_meets_the_floors(three_callers: PipelineRun, sample: str) -> None:
    three_callers.assert_meets_floors(sample, "gatk")


def _expected_hard_filters(record: pysam.VariantRecord) -> set[str]:
    """GATK's hard filters that `record`'s annotations fail, computed here from the definitions."""
    kind = SNV if len(record.ref) == len(record.alts[0]) == 1 else "indel"
    failed = set()
    for hard in GERMLINE_HARD_FILTERS:
        value = record.qual if hard.annotation == "QUAL" else record.info.get(hard.annotation)
        if kind not in hard.types or value is None:
            continue  # like VariantFiltration, an absent annotation fails nothing
        if (value < hard.threshold) if hard.operator == "<" else (value > hard.threshold):
            failed.add(hard.name)
    return failed


def test_gatk_hard_filters_mark_the_records_that_fail_them_and_keep_them(three_callers: PipelineRun) -> None:
    names = {hard.name for hard in GERMLINE_HARD_FILTERS}
    marked = 0
    for sample in SAMPLES:
        with pysam.VariantFile(str(three_callers.path(f"vcf/{sample}.gatk.vcf.gz"))) as variants:
            filters = variants.header.filters
            assert names <= set(filters)
            assert filters["QD2"].description == "SNVs and indels: QD < 2.0 (GATK germline hard filter)"
            for record in variants:
                assert set(record.filter) & names == _expected_hard_filters(record), record
                marked += bool(set(record.filter) & names)
    assert marked > 0  # low-mappability truth sites: MQ and SOR fail there
    with pysam.VariantFile(str(three_callers.path("vcf/S1.bcftools.vcf.gz"))) as bcftools:
        assert not names & set(bcftools.header.filters)  # GATK's filters are GATK's only


def test_pass_only_accuracy_leaves_out_the_hard_filtered_gatk_calls(three_callers: PipelineRun) -> None:
    with pysam.VariantFile(str(three_callers.path("vcf/S1.gatk.vcf.gz"))) as variants:
        filtered = sum(
            1 for r in variants if "PASS" not in r.filter and any(a for a in r.samples["S1"]["GT"] if a)
        )

    def called(result) -> int:
        return sum(s.tp + s.fp for s in result.metrics["all"].values())

    every = called(three_callers.accuracy("S1", "gatk"))
    passing = called(three_callers.accuracy("S1", "gatk", pass_only=True))
    assert filtered > 0 and every - passing == filtered


def test_a_rerun_of_haplotypecaller_gives_a_byte_identical_vcf_and_gvcf(three_callers: PipelineRun) -> None:
    vcf, gvcf = three_callers.path("vcf/S1.gatk.vcf.gz"), three_callers.path("vcf/gvcf/S1.gatk.g.vcf.gz")
    before = vcf.read_bytes(), gvcf.read_bytes()
    rerun = snakemake(
        "--configfile", str(three_callers.config), "--cores", "2",
        "--forcerun", "call_gatk_gvcf", "--", str(vcf), str(gvcf),
        workdir=three_callers.outdir.parent,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert (rerun.stdout + rerun.stderr).count("rule call_gatk_gvcf:") == 3
    assert (vcf.read_bytes(), gvcf.read_bytes()) == before


def test_bqsr_recalibrates_against_the_known_sites_before_calling(three_callers: PipelineRun) -> None:
    log = three_callers.result.stdout + three_callers.result.stderr
    assert _jobs(three_callers, "recalibrate_base_qualities") == 2
    assert _jobs(three_callers, "call_gatk_gvcf") == 6
    known = three_callers.data / "known_sites" / "known_sites.vcf.gz"
    reference, cram = three_callers.path("reference/genome.fa"), three_callers.path("cram/S1.cram")
    assert f"BaseRecalibrator -R {reference} -I {cram} --known-sites {known} -O" in log
    # the heap is the job's memory: profiles/local's, from the resource table, capped at this machine
    table_mb = eval(resources.RULES["call_gatk_gvcf"].mem_mb, {"attempt": 1})
    heap_mb = min(table_mb, resources.machine_memory_mb())
    recalibrated = three_callers.path("align/S1.recal.cram")
    assert f"gatk --java-options -Xmx{heap_mb}m HaplotypeCaller -R {reference} -I {recalibrated} -L" in log
    for sample in SAMPLES:
        table = three_callers.path(f"qc/bqsr/{sample}.recal.table").read_text()
        assert table.startswith("#:GATKReport") and "RecalTable0" in table
        assert not three_callers.path(f"align/{sample}.recal.cram").exists()  # temporary
        three_callers.assert_meets_floors(sample, "gatk")


# Known-sites VCFs against the two-contig reference of fake_inputs (chr1 2000 bp, chr2 1200 bp).
GOOD_CONTIGS = "##contig=<ID=chr1,length=2000>\n##contig=<ID=chr2,length=1200>\n"
BAD_KNOWN_SITES = {
    "missing": (None, "file not found"),
    "not_indexed": (GOOD_CONTIGS, "not indexed: no {vcf}.tbi or {vcf}.csi"),
    "not_bgzipped": (GOOD_CONTIGS, "cannot be read"),
    "without_contig_lines": ("", "has no ##contig header lines"),
    "of_another_naming": (
        "##contig=<ID=1,length=2000>\n",
        "contig '1' is not in the reference. It looks like another build or assembly",
    ),
    "of_another_build": (
        "##contig=<ID=chr1,length=2500>\n",
        "contig 'chr1' has length 2500 there but 2000 in the reference. It looks like another build",
    ),
}


def _known_sites(path: Path, scenario: str, contigs: str | None) -> Path:
    vcf = path / "known.vcf.gz"
    if contigs is None:
        return vcf
    header = "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"])
    text = f"##fileformat=VCFv4.2\n{contigs}{header}\nchr1\t100\t.\tA\tG\t.\t.\t.\n"
    if scenario == "not_bgzipped":
        vcf.write_text(text)  # named .vcf.gz, with an index beside it: only the compression is wrong
        Path(f"{vcf}.tbi").write_bytes(b"")
        return vcf
    plain = path / "known.vcf"
    plain.write_text(text)
    pysam.tabix_compress(str(plain), str(vcf), force=True)
    if scenario != "not_indexed":
        pysam.tabix_index(str(vcf), preset="vcf", force=True)
    return vcf


@pytest.mark.parametrize("scenario", BAD_KNOWN_SITES)
def test_bad_known_sites_stop_the_run_before_any_job(
    tmp_path: Path, fake_inputs: dict, scenario: str
) -> None:
    contigs, problem = BAD_KNOWN_SITES[scenario]
    vcf = _known_sites(tmp_path, scenario, contigs)
    config = fake_config(
        tmp_path,
        fake_inputs,
        outdir=str(tmp_path / "out"),
        calling={"callers": ["gatk"], "gatk": {"bqsr": True, "known_sites": [str(vcf)]}},
    )
    done = snakemake("--configfile", str(config), "--cores", "1", workdir=tmp_path)
    assert done.returncode != 0
    printed = done.stdout + done.stderr
    assert f"calling.gatk.known_sites: {vcf}: " in printed and problem.format(vcf=vcf) in printed, printed[
        -3000:
    ]
    assert not (tmp_path / "out").exists()
