"""Dry runs over several configurations: the DAG has the jobs each option implies and the exact commands."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from .conftest import fake_config, snakemake, write_config


def dry_run(tmp_path: Path, inputs: dict[str, Path], **settings: object) -> tuple[Counter, str]:
    config = write_config(
        tmp_path / "config.yaml",
        samples=str(inputs["samples"]),
        units=str(inputs["units"]),
        reference={"fasta": str(inputs["reference"])},
        outdir=str(tmp_path / "out"),
        **settings,
    )
    result = snakemake(
        "--configfile", str(config), "-n", "--cores", "2", "--quiet", "rules", workdir=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    printed = result.stdout + result.stderr
    table = re.search(r"job\s+count\n[-\s]+\n(.*?)\ntotal", printed, re.S)
    assert table, printed[-3000:]
    jobs = Counter({name: int(n) for name, n in (line.split() for line in table.group(1).splitlines())})
    commands = snakemake("--configfile", str(config), "-n", "-p", "--cores", "2", workdir=tmp_path)
    return jobs, commands.stdout + commands.stderr


def test_default_calls_both_callers_scattered_and_gathered(tmp_path: Path, fake_inputs: dict) -> None:
    jobs, _ = dry_run(tmp_path, fake_inputs, calling={"scatter": 4})
    # duplicate marking writes the CRAM from its stream: no convert_to_cram job, no markdup BAM
    assert jobs["map_reads"] == 6 and jobs["mark_duplicates"] == 3 and "convert_to_cram" not in jobs
    assert jobs["checksum_sample"] == 3
    assert jobs["call_bcftools"] == 12 and jobs["call_freebayes"] == 12
    assert jobs["gather_calls"] == 6 and "gather_joint_calls" not in jobs
    assert jobs["report_multiqc"] == 1 and jobs["write_run_manifest"] == 1


def test_one_caller_only(tmp_path: Path, fake_inputs: dict) -> None:
    jobs, _ = dry_run(tmp_path, fake_inputs, calling={"callers": ["freebayes"], "scatter": 2})
    assert "call_bcftools" not in jobs and jobs["call_freebayes"] == 6 and jobs["gather_calls"] == 3


def test_joint_calling_calls_each_group_together(tmp_path: Path, fake_inputs: dict) -> None:
    jobs, commands = dry_run(
        tmp_path, fake_inputs, calling={"callers": ["bcftools"], "scatter": 2, "joint": True}
    )
    assert jobs["gather_joint_calls"] == 2  # groups fam1 (A, B) and fam2 (C)
    assert re.search(r"bcftools mpileup \S+.* \S+/cram/A\.cram \S+/cram/B\.cram", commands)


def test_bwa_mem2_is_selectable(tmp_path: Path, fake_inputs: dict) -> None:
    _, commands = dry_run(tmp_path, fake_inputs, aligner="bwa-mem2")
    assert "bwa-mem2 index" in commands
    assert re.search(r"bwa-mem2 mem -p -t 2 -K 100000000 -R '@RG\\tID:A\.L1\\tSM:A", commands)


def test_picard_marks_duplicates_after_merging_units(tmp_path: Path, fake_inputs: dict) -> None:
    jobs, commands = dry_run(tmp_path, fake_inputs, duplicates={"tool": "picard"})
    assert jobs["merge_units"] == 3 and jobs["mark_duplicates_picard"] == 3 and "mark_duplicates" not in jobs
    assert "MarkDuplicates -I " in commands and "picard" in commands


def test_bqsr_without_known_sites_is_refused(tmp_path: Path, fake_inputs: dict) -> None:
    config = fake_config(
        tmp_path,
        fake_inputs,
        calling={"callers": ["gatk"], "gatk": {"bqsr": True}},
    )
    result = snakemake("--configfile", str(config), "-n", workdir=tmp_path)
    assert result.returncode != 0 and "calling.gatk.known_sites" in result.stdout + result.stderr


def test_deepvariant_runs_per_chunk_and_glnexus_joins_groups(tmp_path: Path, fake_inputs: dict) -> None:
    jobs, commands = dry_run(
        tmp_path, fake_inputs, calling={"callers": ["deepvariant"], "scatter": 2, "joint": True}
    )
    out = tmp_path / "out"
    assert jobs["call_deepvariant"] == 6 and jobs["genotype_deepvariant_joint"] == 4
    assert (
        f"run_deepvariant --model_type WGS --ref {out}/reference/genome.fa --reads {out}/cram/A.cram "
        f"--regions {out}/reference/chunks/000.bed --output_vcf {out}/calls/deepvariant/sample/A.000.vcf.gz "
        f"--output_gvcf {out}/calls/deepvariant/gvcf/A.000.g.vcf.gz --num_shards 2"
    ) in commands
    assert "glnexus_cli --config DeepVariantWGS" in commands


@pytest.mark.parametrize("present", [[".fai"], [".fai", ".amb", ".ann", ".bwt", ".pac", ".sa"]])
def test_reference_indices_beside_the_fasta_are_reused(
    tmp_path: Path, fake_inputs: dict, present: list
) -> None:
    for ext in present:
        Path(f"{fake_inputs['reference']}{ext}").write_text("")
    jobs, _ = dry_run(tmp_path, fake_inputs)
    assert jobs["link_reference_indices"] == 1 and "index_reference" not in jobs
    assert ("index_aligner" in jobs) == (len(present) == 1)
