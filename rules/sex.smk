# Sex: inferred from each sample's data (X/Y depth, X heterozygosity), checked against the sheet
# (qc/sex_check.tsv, joined into the QC summary), and turned into each caller's ploidy input.
# A sample declared 'unknown' is called with its inferred sex, so its calls wait for the inference.


# Non-PAR X called diploid: a male shows (almost) no heterozygous site there. On AWS Batch it runs in
# the sample's alignment group and reads the CRAM on the group's disk, as BAM QC does.
rule genotype_x_sites:
    input:
        cram=lambda wc: cram_of(wc.sample),
        crai=lambda wc: f"{cram_of(wc.sample)}.crai",
        reference=reference_files(f"{REFERENCE}.fai"),
        bed=out("reference/x_non_par.bed"),
    output:
        out("qc/sex/{sample}.x_sites.vcf"),
    log:
        log_of("genotype_x_sites/{sample}"),
    benchmark:
        benchmark_of("genotype_x_sites/{sample}")
    conda:
        "../envs/bcftools.yaml"
    params:
        reference=reference_path,
    # an empty BED (no X among the called contigs): nothing to genotype
    shell:
        "("
        + FROM_REFERENCE_CACHE
        + "if [ -s {input.bed} ]; then "
        + "bcftools mpileup --no-version -f {params.reference} "
        "-R {input.bed} -Ou {input.cram} | bcftools call --no-version -m -v -Ov -o {output}; "
        "else : > {output}; fi) 2> {log}"


# Depth of 1 kb windows, or in a targeted run of the targets (an exome has no reads between them).
rule infer_sex:
    input:
        regions=lambda wc: out(
            f"qc/targets/{wc.sample}.regions.bed.gz"
            if TARGETS
            else f"qc/mosdepth/{wc.sample}.regions.bed.gz"
        ),
        callable=out("reference/callable.bed"),
        x_sites=out("qc/sex/{sample}.x_sites.vcf"),
    output:
        out("qc/sex/{sample}.sex.json"),
    log:
        log_of("infer_sex/{sample}"),
    benchmark:
        benchmark_of("infer_sex/{sample}")
    conda:
        "../envs/python.yaml"
    params:
        reference=config["reference"],
        limits=config["qc"]["sex"],
    script:
        "../scripts/workflow_step.py"


rule check_sex:
    input:
        expand(out("qc/sex/{sample}.sex.json"), sample=SAMPLES),
    output:
        verdicts=out("qc/sex_check.tsv"),
        multiqc=out("qc/sex_check_mqc.tsv"),
    log:
        log_of("check_sex"),
    benchmark:
        benchmark_of("check_sex")
    conda:
        "../envs/python.yaml"
    params:
        declared=DECLARED_SEX,
    script:
        "../scripts/workflow_step.py"


# bcftools' ploidy and samples files and freebayes' CNV map, for one sample or one joint-calling group.
rule write_ploidy:
    input:
        contigs=out("reference/contigs.tsv"),
        inferred=lambda wc: sex_inputs(samples_in(wc.scope, wc.name)),
    output:
        bcftools_ploidy=out("calls/ploidy/{scope}/{name}.bcftools_ploidy.txt"),
        bcftools_samples=out("calls/ploidy/{scope}/{name}.bcftools_samples.txt"),
        freebayes_cnv=out("calls/ploidy/{scope}/{name}.freebayes_cnv.bed"),
    log:
        log_of("calls/ploidy/{scope}/{name}"),
    benchmark:
        benchmark_of("calls/ploidy/{scope}/{name}")
    conda:
        "../envs/python.yaml"
    params:
        reference=config["reference"],
        declared=lambda wc: {n: DECLARED_SEX[n] for n in samples_in(wc.scope, wc.name)},
    script:
        "../scripts/workflow_step.py"


# GATK calls one ploidy per run: each chunk of a sample, split into its ploidy-1 and ploidy-2 intervals.
rule write_gatk_intervals:
    input:
        contigs=out("reference/contigs.tsv"),
        chunks=expand(out("reference/chunks/{chunk}.bed"), chunk=CHUNKS),
        inferred=lambda wc: sex_inputs([wc.sample]),
    output:
        haploid=expand(
            out("calls/ploidy/sample/{{sample}}.{chunk}.gatk_ploidy1.bed"),
            chunk=CHUNKS,
        ),
        diploid=expand(
            out("calls/ploidy/sample/{{sample}}.{chunk}.gatk_ploidy2.bed"),
            chunk=CHUNKS,
        ),
    log:
        log_of("write_gatk_intervals/{sample}"),
    benchmark:
        benchmark_of("write_gatk_intervals/{sample}")
    conda:
        "../envs/python.yaml"
    params:
        reference=config["reference"],
        declared=lambda wc: DECLARED_SEX[wc.sample],
    script:
        "../scripts/workflow_step.py"
