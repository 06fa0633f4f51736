"""Per-rule threads, memory, runtime and job groups: one table for all three profiles.

The numbers are sized for a 30x human genome in one or two read groups (docs/scaling.md); the
workflow's own ``resources:`` stay the laptop-sized defaults. Memory and runtime are Snakemake
resource expressions of ``threads`` and ``attempt``, so a job killed for memory or time gets more
on its retry. Each profile turns the table into ``set-threads``/``set-resources``/``groups``:

* local: memory capped at what this machine can give one job;
* slurm: threads and memory capped at the partition's largest node (seqpipe.execution.slurm_sizing),
  a grouped rule's memory at its threads' share of the node, so that a group job fits too;
* aws-batch: memory rounded *up* to a (vCPU, memory) pair AWS Batch accepts (seqpipe.execution.batch).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleResources:
    mem_mb: str  # expression of threads and attempt
    runtime: str  # minutes, expression of attempt
    threads: int | None = None  # None: keep the workflow's value (e.g. mapping.threads from the run config)
    group: str | None = None  # short rules batched into one cluster/Batch job


# Retries add memory in fixed steps rather than doubling: doubling asks for node classes that may
# not exist, and single-vCPU Batch jobs top out at 8 GiB (tests check attempts 1-3 on Batch).
RULES: dict[str, RuleResources] = {
    # reference: once per run, short except the bwa index (about 1 h, 5.4 GB for GRCh38)
    "link_reference": RuleResources("1024", "10", group="reference"),
    "link_reference_indices": RuleResources("1024", "10", group="reference"),
    "index_reference": RuleResources("1024", "30", group="reference"),
    "create_sequence_dictionary": RuleResources("2048", "30", group="reference"),
    # bwa index is single-threaded; 2 threads because Batch gives 1 vCPU at most 8 GiB
    "index_aligner": RuleResources(
        "8192 + 4096 * (attempt - 1)", "180 * attempt", threads=2, group="reference"
    ),
    "split_reference": RuleResources("1024", "10", group="reference"),
    # SHA-256 of the bundle (FASTA and index, about 9 GB for GRCh38: a minute)
    "checksum_reference": RuleResources("1024", "30 * attempt", group="reference"),
    "prepare_targets": RuleResources("1024", "10", group="reference"),
    "prepare_identity_sites": RuleResources("1024", "30", group="reference"),
    # reads and alignment: the bulk of the CPU (bwa mem), sort buffers are 768 MiB per thread
    "run_fastqc": RuleResources("2048 * attempt", "120 * attempt", threads=2),
    "map_reads": RuleResources("6144 + 800 * threads + 4096 * (attempt - 1)", "720 * attempt", threads=16),
    "merge_units": RuleResources("2048", "120 * attempt", threads=4),
    # merge | markdup | CRAM in one stream; the CRAM is encoded by one thread (byte-identical output)
    "mark_duplicates": RuleResources("2048 * attempt", "360 * attempt", threads=4),
    "mark_duplicates_picard": RuleResources("16384 + 4096 * (attempt - 1)", "600 * attempt", threads=4),
    # amplicon mode's replacement of mark_duplicates: merge, clip, collate, fixmate, sort
    "clip_primers": RuleResources("2048 * attempt", "360 * attempt", threads=4),
    # calling, per reference chunk: single-threaded tools; FreeBayes can balloon in repeats. On AWS Batch
    # the chunk's region of each CRAM is first copied to the job's disk (one pass over its blocks)
    "slice_calling_reads": RuleResources("1024", "120 * attempt"),
    # the same for one sample, whose slice is then genotyped at the identity panel's sites (minutes)
    "slice_sample_reads": RuleResources("1024", "120 * attempt"),
    "call_bcftools": RuleResources("2048 * attempt", "240 * attempt"),
    "call_freebayes": RuleResources("4096 + 2048 * (attempt - 1)", "480 * attempt"),
    "gather_calls": RuleResources("2048", "60 * attempt", group="gather"),
    "gather_joint_calls": RuleResources("2048", "60 * attempt", group="gather"),  # `use rule gather_calls`
    "compute_variant_stats": RuleResources("1024", "30", group="gather"),
    # GATK and DeepVariant (users' conda env / container), per chunk where scattered
    "recalibrate_base_qualities": RuleResources("8192 + 2048 * (attempt - 1)", "480 * attempt", threads=2),
    "call_gatk_gvcf": RuleResources("8192 + 2048 * (attempt - 1)", "720 * attempt", threads=2),
    "genotype_gatk": RuleResources("8192 + 2048 * (attempt - 1)", "240 * attempt", threads=2),
    # GenomicsDBImport of the group's new gVCFs (all of them on a rebuild), then GenotypeGVCFs
    "genotype_gatk_joint": RuleResources("8192 + 2048 * (attempt - 1)", "240 * attempt", threads=2),
    "gather_gvcf": RuleResources("2048", "60 * attempt", group="gather"),
    "call_deepvariant": RuleResources(
        "6144 + 1024 * threads + 4096 * (attempt - 1)", "720 * attempt", threads=16
    ),
    "genotype_deepvariant_joint": RuleResources("16384 + 4096 * (attempt - 1)", "240 * attempt", threads=8),
    # BCL conversion: bcl-convert wants about 2 GiB per thread; Picard (demux.threads, default 1) far
    # less, so asking in proportion to threads lets a small machine convert its lanes side by side
    "demux_stage_run_folder": RuleResources("1024", "60 * attempt"),
    "demux_convert_lane": RuleResources(
        "4096 + 2048 * threads + 8192 * (attempt - 1)", "480 * attempt", threads=8
    ),
    # one rule per lane (PER_LANE); md5 and read count of every FASTQ of the lane, single-threaded
    "demux_collect_lane": RuleResources("1024", "240 * attempt"),
    "demux_qc": RuleResources("2048", "60 * attempt"),
    # QC and reporting: minutes each, batched
    "compute_alignment_stats": RuleResources("2048", "120 * attempt", group="bam_qc"),
    "compute_coverage": RuleResources("4096", "60 * attempt", group="bam_qc"),
    "compute_target_coverage": RuleResources("4096", "60 * attempt", group="bam_qc"),
    # every sample at the run's variant sites (or per sample and chunk at a panel's sites, gathered),
    # then the identity and contamination verdicts
    "genotype_identity_sites": RuleResources("2048 * attempt", "240 * attempt"),
    "genotype_identity_panel": RuleResources("1024 * attempt", "60 * attempt"),
    "gather_identity_panel": RuleResources("1024", "10 * attempt", group="report"),
    "check_identity": RuleResources("1024", "10 * attempt", group="report"),
    # SHA-256 of a sample's FASTQs and CRAM (about 80 GB for a 30x genome)
    "checksum_sample": RuleResources("1024", "60 * attempt", group="bam_qc"),
    # sex: non-PAR X genotyped (bcftools, ~150 Mb of a 30x genome), then small Python steps; on AWS
    # Batch both run in the sample's alignment group, where the CRAM and the depths are on disk
    "genotype_x_sites": RuleResources("2048 * attempt", "120 * attempt"),
    "infer_sex": RuleResources("1024", "10"),
    "write_ploidy": RuleResources("512", "5"),
    "write_gatk_intervals": RuleResources("512", "5"),
    "check_sex": RuleResources("512", "5", group="report"),
    "summarize_qc": RuleResources("1024", "10", group="report"),
    "report_multiqc": RuleResources("4096 + 2048 * (attempt - 1)", "60 * attempt", group="report"),
    "write_run_manifest": RuleResources("2048", "60 * attempt", group="report"),
    "report_tool_version": RuleResources("512", "5", group="versions"),
    "collect_software_versions": RuleResources("512", "5", group="versions"),
}

# Entries for rules the workflow generates once per lane, named <entry>_<lane>: each lane's rule has
# its own output files (its samples' FASTQs), so one rule with a lane wildcard cannot make them.
PER_LANE = frozenset({"demux_collect_lane"})
LANES = range(1, 9)  # Illumina flow cells have 1 to 8 lanes

# Unconnected jobs of one group are batched this many at a time (BAM QC of 20 samples per job).
GROUP_COMPONENTS = {"bam_qc": 20, "versions": 100}

# AWS Batch job groups. Every job of a group runs in one Batch job, on one machine, so files passed
# between them never go through S3: per sample, the FASTQs are downloaded once for FastQC and the
# mapping of every unit, the unit BAMs stay node-local, and QC and checksums read the CRAM from disk.
# Members ask for 8 or 16 vCPUs and multiples of 8192 MiB (seqpipe.execution.batch), so that the
# group's request, Snakemake's sum over the members that run side by side, is always an AWS Batch
# (vCPU, memory) pair (tests/execution/test_profiles.py checks every group and subset on attempts 1-3).
ALIGNMENT_GROUP = "align_{sample}"
# Per chunk and calling scope (a sample, or a joint-calling group): the slice of the chunk's region of
# the CRAMs (rules/calling.smk), with an identity panel a sample's genotypes at its sites, and the
# callers that read it, on one machine: each region read once.
CALLING_GROUP = "call_{scope}_{name}_{chunk}"
BATCH_GROUPS = {
    **dict.fromkeys(
        (
            "link_reference",
            "link_reference_indices",
            "index_reference",
            "create_sequence_dictionary",
            "index_aligner",
            "prepare_targets",
            "prepare_identity_sites",
            "split_reference",
            "checksum_reference",
        ),
        "reference",
    ),
    **dict.fromkeys(
        (
            "run_fastqc",
            "map_reads",
            "merge_units",
            "mark_duplicates",
            "mark_duplicates_picard",
            "clip_primers",
            "compute_alignment_stats",
            "compute_coverage",
            "compute_target_coverage",
            "checksum_sample",
            "genotype_x_sites",
            "infer_sex",
        ),
        ALIGNMENT_GROUP,
    ),
    **dict.fromkeys(
        ("slice_calling_reads", "slice_sample_reads", "call_bcftools", "call_freebayes"), CALLING_GROUP
    ),
}
# A sample's FastQC jobs are not connected to its alignment: all components of a sample's group join.
BATCH_GROUP_COMPONENTS = {ALIGNMENT_GROUP: 1000}
# A calling group's members are single-threaded and run as its slice, then its callers side by side:
# their own pairs sum to pairs Batch grants (1 vCPU, then 2 with at most 16 GiB; test_profiles.py), so
# they keep them rather than asking for 8 vCPUs each, which would make every chunk cost 16 vCPUs.
SELF_SIZED_GROUPS = frozenset({CALLING_GROUP})


def _packed(rule: str) -> bool:
    """A member of a Batch group whose members ask for 8 or 16 vCPUs and multiples of 8 GiB."""
    return rule in BATCH_GROUPS and BATCH_GROUPS[rule] not in SELF_SIZED_GROUPS


def _by_rule_name() -> dict[str, RuleResources]:
    """The table under the names the workflow's rules have (a per-lane entry once per lane)."""
    return {
        name: r
        for entry, r in RULES.items()
        for name in ([f"{entry}_{lane}" for lane in LANES] if entry in PER_LANE else [entry])
    }


def set_threads(max_threads: int) -> dict[str, int]:
    """``set-threads`` for the rules that fix their thread count, capped at the largest node."""
    if max_threads < 1:
        raise ValueError(f"max_threads must be at least 1, got {max_threads}")
    return {rule: min(r.threads, max_threads) for rule, r in _by_rule_name().items() if r.threads is not None}


def batch_threads() -> dict[str, int]:
    """``set-threads`` of the aws-batch profile: the table's, capped at 16, and 8 or 16 for the members
    of a packed job group (seqpipe.execution.batch.group_vcpus)."""
    from seqpipe.execution.batch import group_vcpus

    threads = set_threads(16)
    threads.update({rule: group_vcpus(threads.get(rule, 1)) for rule in BATCH_GROUPS if _packed(rule)})
    return threads


def _value(expr: str) -> int | str:
    # the profile parser quotes numeric strings, which would make them string resources
    return int(expr) if expr.isdigit() else expr


def set_resources(
    engine: str, *, mem_cap_mb: int | None = None, cores: int | None = None
) -> dict[str, dict[str, int | str]]:
    """``set-resources`` for ``engine`` (local, slurm or aws-batch).

    ``mem_cap_mb`` caps every rule's memory (local: this machine's share; slurm: the largest node).
    On SLURM a group job asks for the summed memory of the members Snakemake runs side by side, and
    it runs side by side at most ``cores`` threads (the profile's ``cores``, its layering limit). A
    grouped rule therefore gets at most ``mem_cap_mb * threads // cores``: any members that fit in
    ``cores`` threads fit in the node's memory together.
    """

    def memory(rule: str, expr: str, group: str | None) -> int | str:
        if engine == "aws-batch":
            fit = "fit_group_memory" if _packed(rule) else "fit_memory"
            return f"__import__('seqpipe.execution.batch').execution.batch.{fit}(threads, {expr})"
        if engine == "slurm" and group is not None and mem_cap_mb is not None:
            if cores is None:
                raise ValueError("slurm memory caps of grouped rules need the profile's cores")
            return f"min({expr}, {mem_cap_mb} * threads // {cores})"
        if mem_cap_mb is not None:
            return f"min({expr}, {mem_cap_mb})"
        return _value(expr)

    if engine not in ("local", "slurm", "aws-batch"):
        raise ValueError(f"unknown engine {engine!r}; choose local, slurm or aws-batch")
    return {
        rule: {"mem_mb": memory(rule, r.mem_mb, r.group), "runtime": _value(r.runtime)}
        for rule, r in _by_rule_name().items()
    }


def groups() -> dict[str, str]:
    """``groups``: rule -> group name for the short rules."""
    return {rule: r.group for rule, r in _by_rule_name().items() if r.group is not None}


def machine_memory_mb(share: float = 0.8) -> int:
    """``share`` of this machine's RAM in MiB: the most the local profile lets jobs take at once."""
    import os

    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20 * share)
