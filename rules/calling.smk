# Every caller runs per reference chunk (scatter) for one sample or, with calling.joint, for all
# samples of a group; gather_calls then concatenates, normalizes and soft-filters the chunks.
# Callers read the CRAMs where they lie: under S3 storage, through htslib's ranged reads of the chunk's
# blocks and the index (read_in_place); tools without S3 support (GATK, DeepVariant) get the chunk's
# region streamed through samtools into a job-local BAM (stream_region). Under S3 storage bcftools and
# FreeBayes read the chunk's slice of the CRAMs that slice_calling_reads copies once; on AWS Batch the
# three run as one job group (profiles/aws-batch), so the slice never leaves the job's disk (Snakemake
# does not upload a group's temporary files that only the group reads).
CHUNK_OF_CRAMS = dict(
    crams=lambda wc: in_place(crams_for(wc)),
    crais=lambda wc: in_place([f"{c}.crai" for c in crams_for(wc)]),
    reference=reference_files(f"{REFERENCE}.fai"),
    bed=out("reference/chunks/{chunk}.bed"),
)
CALLING_INPUT = (
    dict(
        slices=out("calls/slices/{scope}/{name}.{chunk}"),
        reference=CHUNK_OF_CRAMS["reference"],
        bed=CHUNK_OF_CRAMS["bed"],
    )
    if STORAGE
    else CHUNK_OF_CRAMS
)


# The alignments of the chunk's regions (-M: each read once), per sample of the scope in the scope's
# order, as BAMs with the CRAMs' headers: the callers' input under S3 storage. BAM level 1: a 30x genome's
# chunk is written fast and read once, on the same disk. The CRAM URLs pass through sh's arguments,
# which read_in_place rewrites.
rule slice_calling_reads:
    input:
        **CHUNK_OF_CRAMS,
    output:
        slices=temp(directory(out("calls/slices/{scope}/{name}.{chunk}"))),
    log:
        log_of("calls/slices/{scope}/{name}.{chunk}"),
    benchmark:
        benchmark_of("calls/slices/{scope}/{name}.{chunk}")
    priority: 20
    conda:
        "../envs/samtools.yaml"
    params:
        reference=reference_path,
        # the shell that follows the slicing: with an identity panel, a sample's slice is genotyped at
        # the panel's sites (slice_sample_reads, rules/identity.smk)
        panel="",
    # an empty chunk has nothing to slice (its callers call nothing)
    shell:
        "("
        + FROM_REFERENCE_CACHE
        + "mkdir -p {output.slices} && if [ -s {input.bed} ]; then "
        + read_in_place("{input.crams}")
        + "sh -c 'for cram; do slice={output.slices}/$(basename $cram .cram).bam && "
        "samtools view --no-PG -M -L {input.bed} -T {params.reference} -O bam,level=1 -o $slice $cram && "
        "samtools index $slice || exit 1; done' slice {input.crams}; fi{params.panel}) 2> {log}"


# Ploidy follows each sample's sex (rules/sex.smk): bcftools by region and sex, freebayes by region
# and sample, GATK by the intervals of each ploidy.
rule call_bcftools:
    input:
        **CALLING_INPUT,
        ploidy=out("calls/ploidy/{scope}/{name}.bcftools_ploidy.txt"),
        sexes=out("calls/ploidy/{scope}/{name}.bcftools_samples.txt"),
    output:
        temp(out("calls/bcftools/{scope}/{name}.{chunk}.bcf")),
    log:
        log_of("calls/bcftools/{scope}/{name}.{chunk}"),
    benchmark:
        benchmark_of("calls/bcftools/{scope}/{name}.{chunk}")
    priority: 20
    conda:
        "../envs/bcftools.yaml"
    params:
        reference=reference_path,
        reads=calling_reads,
    shell:
        "("
        + FROM_REFERENCE_CACHE
        + unless_empty_chunk(
            "bcftools mpileup --no-version "
            "-f {params.reference} -R {input.bed} -a FORMAT/AD,FORMAT/DP -Ou {params.reads} | "
            "bcftools call --no-version -m -v --ploidy-file {input.ploidy} --samples-file {input.sexes} "
            "-Ob -o {output}",
            "{output}",
        )
        + ") 2> {log}"


# FreeBayes records its command line (with the CRAM's path or URL) in the header: dropped, so the VCF
# does not depend on the engine.
rule call_freebayes:
    input:
        **CALLING_INPUT,
        cnv=out("calls/ploidy/{scope}/{name}.freebayes_cnv.bed"),
    output:
        temp(out("calls/freebayes/{scope}/{name}.{chunk}.bcf")),
    log:
        log_of("calls/freebayes/{scope}/{name}.{chunk}"),
    benchmark:
        benchmark_of("calls/freebayes/{scope}/{name}.{chunk}")
    priority: 20
    conda:
        "../envs/freebayes.yaml"
    params:
        reference=reference_path,
        reads=calling_reads,
    shell:
        "("
        + FROM_REFERENCE_CACHE
        + unless_empty_chunk(
            "freebayes -f {params.reference} -t {input.bed} --cnv-map {input.cnv} {params.reads} | "
            "grep -v '^##commandline=' | bcftools view --no-version -Ob -o {output}",
            "{output}",
        )
        + ") 2> {log}"


rule gather_calls:
    input:
        chunks=lambda wc: chunk_calls(wc.caller, "sample", wc.sample),
        reference=reference_files(f"{REFERENCE}.fai"),
    output:
        vcf=out("vcf/{sample}.{caller}.vcf.gz"),
        tbi=out("vcf/{sample}.{caller}.vcf.gz.tbi"),
    log:
        log_of("gather_calls/{sample}.{caller}"),
    benchmark:
        benchmark_of("gather_calls/{sample}.{caller}")
    conda:
        "../envs/bcftools.yaml"
    params:
        reference=reference_path,
        min_qual=CALLING["min_qual"],
        min_depth=CALLING["min_depth"],
        caller_filters=lambda wc: caller_filters(wc.caller),
    # bcftools 1.16 cannot split multiallelics and drop duplicates (chunk edges) in one norm.
    # Filters mark records in FILTER and never drop them; RefCall marks sites no sample carries
    # an ALT allele at (freebayes reports such sites); GATK's calls also get its germline hard filters
    # (seqpipe.gatk_hard_filters). --no-version everywhere: no run dates in
    # the headers, so a rerun gives byte-identical VCFs.
    shell:
        "("
        + FROM_REFERENCE_CACHE
        + "bcftools concat --no-version -Ou "
        + non_empty("{input.chunks}")
        + " | "
        "bcftools norm --no-version -f {params.reference} -m- -Ou | "
        "bcftools norm --no-version --rm-dup exact -Ou | "
        "{params.caller_filters}"
        "bcftools filter --no-version -m+ -s LowQual -e 'QUAL<{params.min_qual}' -Ou | "
        "bcftools filter --no-version -m+ -s LowDepth -e 'INFO/DP<{params.min_depth}' -Ou | "
        "bcftools filter --no-version -m+ -s RefCall -e 'N_PASS(GT=\"alt\")==0' -Oz -o {output.vcf} && "
        "tabix -f -p vcf {output.vcf}) 2> {log}"


use rule gather_calls as gather_joint_calls with:
    input:
        chunks=lambda wc: chunk_calls(wc.caller, "joint", wc.group),
        reference=reference_files(f"{REFERENCE}.fai"),
    output:
        vcf=out("vcf/joint/{group}.{caller}.vcf.gz"),
        tbi=out("vcf/joint/{group}.{caller}.vcf.gz.tbi"),
    log:
        log_of("gather_calls/joint/{group}.{caller}"),
    benchmark:
        benchmark_of("gather_calls/joint/{group}.{caller}")


# GATK runs from the venv's launcher (scripts/install-gatk.sh) or its conda env (--sdm conda); DeepVariant
# through its conda env or container, whose model weights cannot be fetched here: the test suite checks
# its command lines with dry runs.


# BaseRecalibrator and ApplyBQSR both read the whole CRAM: under S3 storage it is streamed once.
rule recalibrate_base_qualities:
    input:
        reads=lambda wc: in_place(cram_of(wc.sample)),
        index=lambda wc: in_place(f"{cram_of(wc.sample)}.crai"),
        reference=reference_files(f"{REFERENCE}.fai", out("reference/genome.dict")),
        known=KNOWN_SITES,
        known_index=[sites_index(k) or f"{k}.tbi" for k in KNOWN_SITES],
    output:
        cram=temp(out("align/{sample}.recal.cram")),
        crai=temp(out("align/{sample}.recal.cram.crai")),
        table=out("qc/bqsr/{sample}.recal.table"),
    log:
        log_of("recalibrate_base_qualities/{sample}"),
    benchmark:
        benchmark_of("recalibrate_base_qualities/{sample}")
    conda:
        "../envs/gatk4.yaml"
    resources:
        mem_mb=4096,
    params:
        reference=reference_path,
        reads=reads_for_tool("sample"),
        known=lambda wc, input: " ".join(f"--known-sites {k}" for k in input.known),
    shell:
        "("
        + FROM_REFERENCE_CACHE
        + stream_region(None)
        + "gatk --java-options -Xmx{resources.mem_mb}m "
        "BaseRecalibrator -R {params.reference} -I {params.reads} {params.known} -O {output.table} && "
        "gatk --java-options -Xmx{resources.mem_mb}m ApplyBQSR -R {params.reference} -I {params.reads} "
        "--bqsr-recal-file {output.table} -O {output.cram} --create-output-bam-index false && "
        "samtools index {output.cram} {output.crai}) > {log} 2>&1"


# One HaplotypeCaller per ploidy that has intervals in this chunk (rules/sex.smk), the parts merged in
# order: the sample's GVCF of the chunk, which gather_gvcf keeps and joint genotyping reads.
rule call_gatk_gvcf:
    input:
        reads=lambda wc: in_place(analysis_reads(wc.sample)),
        index=lambda wc: in_place(f"{analysis_reads(wc.sample)}.crai"),
        reference=reference_files(f"{REFERENCE}.fai", out("reference/genome.dict")),
        bed=out("reference/chunks/{chunk}.bed"),
        haploid=out("calls/ploidy/sample/{sample}.{chunk}.gatk_ploidy1.bed"),
        diploid=out("calls/ploidy/sample/{sample}.{chunk}.gatk_ploidy2.bed"),
    output:
        gvcf=temp(out("calls/gatk/gvcf/{sample}.{chunk}.g.vcf.gz")),
        tbi=temp(out("calls/gatk/gvcf/{sample}.{chunk}.g.vcf.gz.tbi")),
    log:
        log_of("calls/gatk/gvcf/{sample}.{chunk}"),
    benchmark:
        benchmark_of("calls/gatk/gvcf/{sample}.{chunk}")
    conda:
        "../envs/gatk4.yaml"
    resources:
        mem_mb=4096,
    params:
        reference=reference_path,
        reads=reads_for_tool("region"),
        part=lambda wc, output: f"{output.gvcf}.ploidy",
    shell:
        "("
        + FROM_REFERENCE_CACHE
        + unless_empty_chunk(
            stream_region("{input.bed}")
            + "parts='' && "
            + " && ".join(
                f"if [ -s {{input.{intervals}}} ]; then gatk --java-options -Xmx{{resources.mem_mb}}m "
                f"HaplotypeCaller -R {{params.reference}} -I {{params.reads}} -L {{input.{intervals}}} "
                f"--sample-ploidy {ploidy} -ERC GVCF -O {{params.part}}{ploidy}.g.vcf.gz && "
                f'parts="$parts -I {{params.part}}{ploidy}.g.vcf.gz"; fi'
                for ploidy, intervals in ((1, "haploid"), (2, "diploid"))
            )
            + " && gatk --java-options -Xmx{resources.mem_mb}m MergeVcfs $parts -O {output.gvcf} && "
            "rm -f {params.part}*",
            "{output.gvcf} {output.tbi}",
        )
        + ") > {log} 2>&1"


# The sample's calls of the chunk, genotyped from its GVCF (each sample's ploidy is in its GVCF). GATK's
# header lines with its command line and run date are dropped: a rerun gives a byte-identical VCF.
rule genotype_gatk:
    input:
        gvcf=out("calls/gatk/gvcf/{sample}.{chunk}.g.vcf.gz"),
        tbi=out("calls/gatk/gvcf/{sample}.{chunk}.g.vcf.gz.tbi"),
        reference=reference_files(f"{REFERENCE}.fai", out("reference/genome.dict")),
        bed=out("reference/chunks/{chunk}.bed"),
    output:
        temp(out("calls/gatk/sample/{sample}.{chunk}.bcf")),
    log:
        log_of("calls/gatk/sample/{sample}.{chunk}"),
    benchmark:
        benchmark_of("calls/gatk/sample/{sample}.{chunk}")
    conda:
        "../envs/gatk4.yaml"
    resources:
        mem_mb=4096,
    params:
        reference=reference_path,
        genotyped=lambda wc, output: output[0].replace(".bcf", ".genotyped.vcf.gz"),
    shell:
        "("
        + FROM_REFERENCE_CACHE
        + unless_empty_chunk(
            "gatk --java-options -Xmx{resources.mem_mb}m GenotypeGVCFs -R {params.reference} "
            "-V {input.gvcf} -L {input.bed} -O {params.genotyped} && "
            "bcftools view --no-version {params.genotyped} | grep -v '^##GATKCommandLine' | "
            "bcftools view --no-version -Ob -o {output} && rm -f {params.genotyped}*",
            "{output}",
        )
        + ") > {log} 2>&1"


# Each sample's gVCF (GATK's and DeepVariant's) is kept as an output: joint genotyping reads it
# (rules/joint.smk), so adding a sample to a group recomputes no other sample's.
rule gather_gvcf:
    input:
        expand(
            out("calls/{caller}/gvcf/{sample}.{chunk}.g.vcf.gz"),
            chunk=CHUNKS,
            allow_missing=True,
        ),
    output:
        gvcf=out("vcf/gvcf/{sample}.{caller}.g.vcf.gz"),
        tbi=out("vcf/gvcf/{sample}.{caller}.g.vcf.gz.tbi"),
    log:
        log_of("gather_gvcf/{sample}.{caller}"),
    benchmark:
        benchmark_of("gather_gvcf/{sample}.{caller}")
    wildcard_constraints:
        caller="|".join(GVCF_CALLERS),
    conda:
        "../envs/bcftools.yaml"
    # GATK's command-line header lines carry the run's date: dropped, so that a rerun gives the same bytes
    shell:
        "(bcftools concat --no-version -Ov "
        + non_empty("{input}")
        + " | grep -v '^##GATKCommandLine' | bcftools view --no-version -Oz -o {output.gvcf} && "
        "tabix -p vcf {output.gvcf}) 2> {log}"


rule call_deepvariant:
    input:
        reads=lambda wc: in_place(analysis_reads(wc.sample)),
        index=lambda wc: in_place(f"{analysis_reads(wc.sample)}.crai"),
        reference=reference_files(f"{REFERENCE}.fai"),
        bed=out("reference/chunks/{chunk}.bed"),
    output:
        vcf=temp(out("calls/deepvariant/sample/{sample}.{chunk}.vcf.gz")),
        gvcf=temp(out("calls/deepvariant/gvcf/{sample}.{chunk}.g.vcf.gz")),
    log:
        log_of("calls/deepvariant/{sample}.{chunk}"),
    benchmark:
        benchmark_of("calls/deepvariant/{sample}.{chunk}")
    conda:
        "../envs/deepvariant.yaml"
    container:
        CALLING["deepvariant"]["container"]
    threads: THREADS
    resources:
        mem_mb=8192,
    params:
        reference=reference_path,
        reads=reads_for_tool("region"),
        model=CALLING["deepvariant"]["model_type"],
        tmp=lambda wc: out(f"calls/deepvariant/tmp/{wc.sample}.{wc.chunk}"),
    shell:
        "("
        + FROM_REFERENCE_CACHE
        + unless_empty_chunk(
            stream_region("{input.bed}")
            + "run_deepvariant --model_type {params.model} --ref {params.reference} "
            "--reads {params.reads} --regions {input.bed} --output_vcf {output.vcf} "
            "--output_gvcf {output.gvcf} --num_shards {threads} "
            "--intermediate_results_dir {params.tmp} && rm -rf {params.tmp}",
            "{output.vcf} {output.gvcf}",
        )
        + ") > {log} 2>&1"
