"""The pipeline's output tree (docs/output.md), parsed: which sample, group or run an output belongs to.

Erasure reads a run's objects through this, so a sample's files are found by where the rules put the
sample's name (`cram/{sample}.cram`, `align/{sample}/{unit}.bam`, `logs/map_reads/{sample}.{unit}.log`),
never by a substring of the path. The folder names of the tree are reserved: no sample may be called
`qc` or `sample` (config/schemas/samples.schema.yaml lists RESERVED_SAMPLE_IDS, a test keeps the two
equal), so that a sample id never reads as a folder of the tree.

A path is taken relative to the run's output folder: the tree starts at its first top-level folder,
whatever outdir (`results/`, or none under S3 storage) sits in front.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# The rules that write one file per sample (or per sample and unit/caller/chunk) into logs/<rule>/ and
# benchmarks/<rule>/, named `{sample}.…`.
PER_SAMPLE_RULE_FOLDERS = (
    "map_reads",
    "fastp",
    "fastqc",
    "merge_units",
    "mark_duplicates",
    "recalibrate_base_qualities",
    "convert_to_cram",
    "checksum_sample",
    "compute_alignment_stats",
    "compute_coverage",
    "gather_calls",
    "gather_gvcf",
    "compute_variant_stats",
    "genotype_x_sites",
    "infer_sex",
    "write_gatk_intervals",
    "compute_target_coverage",
    "clip_primers",
)
# qc/<tool>/{sample}.… (and qc/bcftools/joint/{group}.… for joint calls)
PER_SAMPLE_QC_FOLDERS = (
    "fastqc",
    "fastp",
    "samtools",
    "markdup",
    "mosdepth",
    "bcftools",
    "bqsr",
    "sex",
    "targets",
    "ampliconclip",
)
TOP_FOLDERS = (
    "cram",
    "vcf",
    "align",
    "calls",
    "qc",
    "fastq",
    "demux",
    "reference",
    "manifest",
    "logs",
    "benchmarks",
)

_SAMPLE = r"(?P<sample>[^/.]+)"
_GROUP = r"(?P<group>[^/.]+)"
_NAME_REST = r"\.[^/]*"  # `.{unit}`, `.{caller}.vcf.gz`, …: a sample id has no dot, so the name ends here
_TREE = "|".join(TOP_FOLDERS)
_RULES = "|".join(PER_SAMPLE_RULE_FOLDERS)
_QC = "|".join(PER_SAMPLE_QC_FOLDERS)

SAMPLE_OUTPUTS = tuple(
    re.compile(pattern)
    for pattern in (
        rf"(cram|vcf|vcf/gvcf|align)/{_SAMPLE}{_NAME_REST}",
        rf"align/{_SAMPLE}/.+",
        rf"calls/[^/]+/(sample|gvcf)/{_SAMPLE}{_NAME_REST}",
        rf"calls/deepvariant/tmp/{_SAMPLE}\.\d+/.+",
        rf"fastq/{_SAMPLE}_L\d{{3}}_R[12]\.fastq\.gz(\.md5)?",
        rf"qc/({_QC})/{_SAMPLE}{_NAME_REST}",
        rf"(logs|benchmarks)/({_RULES})/{_SAMPLE}{_NAME_REST}",
        rf"manifest/checksums/{_SAMPLE}{_NAME_REST}",
        rf"(logs|benchmarks)/calls/[^/]+/(sample|gvcf)/{_SAMPLE}{_NAME_REST}",
        rf"(logs|benchmarks)/calls/deepvariant/{_SAMPLE}{_NAME_REST}",
    )
)
# Joint calling: one file per group of samples (which samples, the VCF/BCF header says).
GROUP_OUTPUTS = tuple(
    re.compile(pattern)
    for pattern in (
        rf"vcf/joint/{_GROUP}{_NAME_REST}",
        rf"calls/[^/]+/joint/{_GROUP}{_NAME_REST}",
        rf"calls/deepvariant/tmp/{_GROUP}\.\d+\.GLnexus\.DB/.+",
        rf"calls/gatk/joint/{_GROUP}\.\d+\.genomicsdb/.+",  # the kept GenomicsDB workspace
        rf"qc/bcftools/joint/{_GROUP}{_NAME_REST}",
        rf"(logs|benchmarks)/(calls/[^/]+|gather_calls|compute_variant_stats)/joint/{_GROUP}{_NAME_REST}",
    )
)
# Files of the whole run that hold every sample's numbers, one row (or key) per sample: rewritten
# without the sample, through the QC summary's own writer.
QC_SUMMARY_JSON = "qc/qc_summary.json"
QC_SUMMARY_FILES = ("qc/qc_summary.tsv", "qc/qc_summary_mqc.tsv", QC_SUMMARY_JSON)
# Files of the whole run that mix samples and cannot be cut: removed, to be rebuilt by a re-run.
MIXED_OUTPUTS = tuple(
    re.compile(pattern)
    for pattern in (
        r"qc/multiqc_report\.html",
        r"qc/multiqc_data/.+",
        r"qc/demux/.+",
        r"demux/.+",
        r"manifest/run_manifest\.json",
        r"qc/sex_check(_mqc)?\.tsv",
        r"qc/identity/.+",  # every sample's genotypes at the identity sites
    )
)
# What Snakemake's remote executors upload beside the outputs (config and sample sheets included).
SOURCE_ARCHIVE = re.compile(r"(.*/)?snakemake-workflow-sources\.[0-9a-f]+\.tar\.xz")

# Folder names at any level of the tree, and the data plane's own names for objects of no sample.
RESERVED_SAMPLE_IDS = frozenset(
    {
        *TOP_FOLDERS,
        *PER_SAMPLE_RULE_FOLDERS,
        *PER_SAMPLE_QC_FOLDERS,
        "sample",
        "joint",
        "gvcf",
        "tmp",
        "calls",
        "chunks",
        "ploidy",
        "versions",
        "multiqc_data",
        "unassigned",
        "identity",
    }
)
SAMPLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def is_sample_id(name: str) -> bool:
    """A name the pipeline and the data plane take as a sample id (samples.schema.yaml's rule)."""
    return bool(SAMPLE_ID.match(name)) and name not in RESERVED_SAMPLE_IDS


class Owner(StrEnum):
    SAMPLE = "sample"  # one sample's file
    GROUP = "group"  # a joint-calling group's file
    QC_SUMMARY = "qc-summary"  # every sample's rows: rewritten without one
    MIXED = "mixed"  # every sample's data, not separable: rebuilt by a re-run
    RUN = "run"  # nothing of any sample (reference, versions, run-level logs)


@dataclass(frozen=True)
class Output:
    owner: Owner
    name: str | None = None  # the sample or group


def parse_output(path: str) -> Output:
    """What a path under a run's output prefix is (see the module's docstring)."""
    if SOURCE_ARCHIVE.fullmatch(path):
        return Output(Owner.MIXED)
    parts = path.split("/")
    start = next((i for i, part in enumerate(parts) if part in TOP_FOLDERS), None)
    if start is None:
        return Output(Owner.RUN)
    tree = "/".join(parts[start:])
    for pattern in SAMPLE_OUTPUTS:
        if match := pattern.fullmatch(tree):
            return Output(Owner.SAMPLE, match["sample"])
    for pattern in GROUP_OUTPUTS:
        if match := pattern.fullmatch(tree):
            return Output(Owner.GROUP, match["group"])
    if tree in QC_SUMMARY_FILES:
        return Output(Owner.QC_SUMMARY)
    if any(pattern.fullmatch(tree) for pattern in MIXED_OUTPUTS):
        return Output(Owner.MIXED)
    return Output(Owner.RUN)
