SOURCE_FASTA = config["reference"]["fasta"]
ALIGNER_INDEX = {
    "bwa": ["amb", "ann", "bwt", "pac", "sa"],
    "bwa-mem2": ["0123", "amb", "ann", "bwt.2bit.64", "pac"],
}[config["aligner"]]

# Index files already beside the user's FASTA are reused (hard-linked), never rebuilt. bwa's .alt file
# (ALT contigs) is taken when the user has one; nothing here makes it. It travels with the reference
# (REFERENCE_BUNDLE: into every host cache), so bwa and bwa-mem2 align ALT-aware wherever they run.
_SOURCE_STEM = os.path.splitext(SOURCE_FASTA)[0]
REFERENCE_FILES = {
    "fai": (f"{SOURCE_FASTA}.fai", f"{REFERENCE}.fai"),
    "dict": (f"{_SOURCE_STEM}.dict", out("reference/genome.dict")),
    **{ext: (f"{SOURCE_FASTA}.{ext}", f"{REFERENCE}.{ext}") for ext in ALIGNER_INDEX},
}
if os.path.exists(f"{SOURCE_FASTA}.alt"):
    REFERENCE_FILES["alt"] = (f"{SOURCE_FASTA}.alt", f"{REFERENCE}.alt")
REUSED = {k: v for k, v in REFERENCE_FILES.items() if os.path.exists(v[0])}
# At the head, before any job: the .alt matches the FASTA, and PARs are known if a sample may be male.
# (A cloud job parses the workflow without the user's reference; the head has checked it.)
if os.path.exists(SOURCE_FASTA):
    check_reference(SOURCE_FASTA, SEX_CHROMOSOMES, DECLARED_SEX)
if not all(
    ext in REUSED for ext in ALIGNER_INDEX
):  # an aligner index is reused whole or not at all
    REUSED = {k: v for k, v in REUSED.items() if k not in ALIGNER_INDEX}
REFERENCE_INDEX = [target for _, target in REFERENCE_FILES.values()]
# What bwa (and bwa-mem2) read beside the FASTA: the index and, when there is one, the .alt file.
ALIGNER_FILES = [f"{REFERENCE}.{ext}" for ext in ALIGNER_INDEX] + (
    [f"{REFERENCE}.alt"] if "alt" in REFERENCE_FILES else []
)
# The reference bundle: what a compute host caches once (seqpipe.storage.reference_cache), with a
# manifest of sizes and SHA-256s that the cache checks every fetched file against.
REFERENCE_BUNDLE = [REFERENCE, *REFERENCE_INDEX]
BUNDLE_MANIFEST = out("reference/bundle.sha256")
# Under S3 storage a job first links the bundle from its host's cache to the reference's usual
# directory, so every tool is given the same reference path on every engine (it is written into CRAM
# and VCF headers, which therefore do not depend on where the run went).
FROM_REFERENCE_CACHE = (
    f"python -m seqpipe.storage.reference_cache {object_url(out('reference'))} {out('reference')} && "
    if STORAGE
    else ""
)


rule link_reference:
    input:
        SOURCE_FASTA,
    output:
        REFERENCE,
    log:
        log_of("reference/link_reference"),
    benchmark:
        benchmark_of("reference/link_reference")
    priority: 50
    conda:
        "../envs/samtools.yaml"
    # A copy, not a link: Snakemake touches every output after its job, and touching a hard link (or
    # through a symlink) would date the user's own reference anew, so that every other run reading it
    # looked out of date and redid everything from alignment on. --reflink=auto makes the copy free where
    # the file system shares blocks (XFS, Btrfs); a plain file is also what remote storage can upload.
    shell:
        "cp --reflink=auto {input} {output} 2> {log}"


if REUSED:

    rule link_reference_indices:
        input:
            [source for source, _ in REUSED.values()],
        output:
            [target for _, target in REUSED.values()],
        log:
            log_of("reference/link_reference_indices"),
        benchmark:
            benchmark_of("reference/link_reference_indices")
        priority: 50
        conda:
            "../envs/samtools.yaml"
        # copies, as link_reference's
        params:
            copies=" && ".join(
                f"cp --reflink=auto {source} {target}"
                for source, target in REUSED.values()
            ),
        shell:
            "{{ {params.copies}; }} 2> {log}"


if "fai" not in REUSED:

    rule index_reference:
        input:
            REFERENCE,
        output:
            f"{REFERENCE}.fai",
        log:
            log_of("reference/index_reference"),
        benchmark:
            benchmark_of("reference/index_reference")
        priority: 50
        conda:
            "../envs/samtools.yaml"
        shell:
            "samtools faidx {input} 2> {log}"


if "dict" not in REUSED:

    rule create_sequence_dictionary:
        input:
            REFERENCE,
        output:
            out("reference/genome.dict"),
        log:
            log_of("reference/create_sequence_dictionary"),
        benchmark:
            benchmark_of("reference/create_sequence_dictionary")
        conda:
            "../envs/samtools.yaml"
        shell:
            "samtools dict -o {output} {input} 2> {log}"


if ALIGNER_INDEX[0] not in REUSED:

    rule index_aligner:
        input:
            REFERENCE,
        output:
            [f"{REFERENCE}.{ext}" for ext in ALIGNER_INDEX],
        log:
            log_of("reference/index_aligner"),
        benchmark:
            benchmark_of("reference/index_aligner")
        priority: 50
        conda:
            f"../envs/{config['aligner']}.yaml"
        resources:
            mem_mb=lambda wc, input: max(1024, int(input.size_mb * 30)),
        params:
            command="bwa-mem2" if config["aligner"] == "bwa-mem2" else "bwa",
        shell:
            "{params.command} index {input} > {log} 2>&1"


rule checksum_reference:
    input:
        REFERENCE_BUNDLE,
    output:
        BUNDLE_MANIFEST,
    log:
        log_of("reference/checksum_reference"),
    benchmark:
        benchmark_of("reference/checksum_reference")
    priority: 50
    conda:
        "../envs/python.yaml"
    script:
        "../scripts/workflow_step.py"


# The called contigs (calling.contigs; ALT contigs never) without their N gaps, in chunks of about
# equal callable length; and the callable non-PAR X that sex inference genotypes.
rule split_reference:
    input:
        fasta=REFERENCE,
        fai=f"{REFERENCE}.fai",
        alt=[f"{REFERENCE}.alt"] if "alt" in REFERENCE_FILES else [],
        # calling stays in the padded targets of targeted runs (rules/targets.smk)
        targets=lambda wc: [PADDED_TARGET_BED] if TARGETS else [],
    output:
        chunks=expand(out("reference/chunks/{chunk}.bed"), chunk=CHUNKS),
        callable=out("reference/callable.bed"),
        x_non_par=out("reference/x_non_par.bed"),
        # contig lengths for the per-sample ploidy steps, which so need no reference bundle
        contigs=out("reference/contigs.tsv"),
    log:
        log_of("reference/split_reference"),
    benchmark:
        benchmark_of("reference/split_reference")
    conda:
        "../envs/python.yaml"
    params:
        contigs=CALLING["contigs"],
        reference=config["reference"],
    script:
        "../scripts/workflow_step.py"
