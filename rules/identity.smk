# Sample identity QC (docs/identity-and-targets.md): with two samples or more, every sample is
# genotyped at identity sites (bcftools mpileup | call -C alleles, AD and DP) and seqpipe.identity
# compares all pairs and estimates each sample's contamination from the same genotypes and allele
# depths. Both end as verdicts in the QC summary. The sites are either a fixed panel of common SNPs
# (identity.sites), genotyped per sample and chunk from the reads the callers read, so that no CRAM is
# read again, or else the run's own PASS biallelic SNPs from the first caller, genotyped in one job
# that reads every CRAM once more.


IDENTITY = config["identity"]
IDENTITY_PANEL = IDENTITY.get("sites") if len(SAMPLES) >= 2 else None
# At the head, before any job, like the reference (a cloud job parses the workflow without the files).
if IDENTITY_PANEL and os.path.exists(SOURCE_FASTA):
    check_sites_vcf(
        IDENTITY_PANEL, contig_lengths(SOURCE_FASTA), "identity.sites", records=True
    )
IDENTITY_SITES = out("reference/identity_sites.tsv.gz")


# A fixed panel: its biallelic SNPs (-v snps -m2 -M2, duplicates dropped) as sites with their
# alleles for call -C alleles, once per run.
if IDENTITY_PANEL:

    rule prepare_identity_sites:
        input:
            IDENTITY_PANEL,
        output:
            sites=IDENTITY_SITES,
            tbi=f"{IDENTITY_SITES}.tbi",
        log:
            log_of("reference/prepare_identity_sites"),
        benchmark:
            benchmark_of("reference/prepare_identity_sites")
        conda:
            "../envs/bcftools.yaml"
        shell:
            "(bcftools view --no-version -v snps -m2 -M2 -Ou {input} | "
            "bcftools norm --no-version -d all -Ou | "
            "bcftools query -f '%CHROM\\t%POS\\t%REF,%ALT\\n' | bgzip -c > {output.sites} && "
            "tabix -f -s1 -b2 -e2 {output.sites}) 2> {log}"

    PANEL_INPUT = dict(sites=IDENTITY_SITES, sites_index=f"{IDENTITY_SITES}.tbi")
    PANEL_PART = out("qc/identity/panel/sample/{sample}.{chunk}.tsv.gz")
    if STORAGE:

        # Under S3 storage the sample's slice of the chunk (rules/calling.smk) is genotyped by the job
        # that makes it, where the reads are on disk: on AWS Batch the calling group (a rule of its own
        # there would run beside both callers, and 3 vCPUs is no pair Batch grants).
        use rule slice_calling_reads as slice_sample_reads with:
            input:
                **CHUNK_OF_CRAMS,
                **PANEL_INPUT,
            output:
                slices=temp(directory(out("calls/slices/{scope}/{name}.{chunk}"))),
                identity=out("qc/identity/panel/{scope}/{name}.{chunk}.tsv.gz"),
            wildcard_constraints:
                scope="sample",
            params:
                reference=reference_path,
                panel=lambda wc, input, output: " && "
                + genotype_panel(
                    f"{output.slices}/{wc.name}.bam",
                    input.sites,
                    input.bed,
                    output.identity,
                ),

        ruleorder: slice_sample_reads > slice_calling_reads

    else:

        rule genotype_identity_panel:
            input:
                **PANEL_INPUT,
                cram=lambda wc: cram_of(wc.sample),
                crai=lambda wc: f"{cram_of(wc.sample)}.crai",
                reference=reference_files(f"{REFERENCE}.fai"),
                bed=out("reference/chunks/{chunk}.bed"),
            output:
                PANEL_PART,
            log:
                log_of("identity/panel/{sample}.{chunk}"),
            benchmark:
                benchmark_of("identity/panel/{sample}.{chunk}")
            conda:
                "../envs/bcftools.yaml"
            shell:
                "("
                + genotype_panel(
                    "{input.cram}", "{input.sites}", "{input.bed}", "{output}"
                )
                + ") 2> {log}"

    rule gather_identity_panel:
        input:
            parts=expand(PANEL_PART, sample=SAMPLES, chunk=CHUNKS),
            sites=IDENTITY_SITES,
        output:
            depths=out("qc/identity/allele_depths.tsv.gz"),
        log:
            log_of("identity/gather_identity_panel"),
        benchmark:
            benchmark_of("identity/gather_identity_panel")
        conda:
            "../envs/python.yaml"
        params:
            samples=SAMPLES,
        script:
            "../scripts/workflow_step.py"

else:

    # Sites with their alleles (call -C alleles) so that every sample is genotyped at every site, hom-ref
    # included; mpileup keeps duplicates out and reads up to 10,000 reads per sample at a site.
    rule genotype_identity_sites:
        input:
            vcfs=expand(
                out("vcf/{sample}.{caller}.vcf.gz"), sample=SAMPLES, caller=CALLERS[0]
            ),
            # bcftools merge reads the indexes beside the VCFs (a Batch job has only what it declares)
            tbis=expand(
                out("vcf/{sample}.{caller}.vcf.gz.tbi"),
                sample=SAMPLES,
                caller=CALLERS[0],
            ),
            crams=lambda wc: in_place([cram_of(s) for s in SAMPLES]),
            crais=lambda wc: in_place([f"{cram_of(s)}.crai" for s in SAMPLES]),
            reference=reference_files(f"{REFERENCE}.fai"),
        output:
            sites=out("qc/identity/sites.tsv.gz"),
            depths=out("qc/identity/allele_depths.tsv.gz"),
        log:
            log_of("identity/genotype_identity_sites"),
        benchmark:
            benchmark_of("identity/genotype_identity_sites")
        conda:
            "../envs/bcftools.yaml"
        params:
            reference=reference_path,
            # a scratch file of this job, not an output: every sample's genotypes and allele depths are kept
            # in allele_depths.tsv.gz (a temporary output nothing reads is never uploaded, and the Batch job
            # then fails waiting for it in S3)
            genotypes=lambda wc, output: output.depths.replace(
                "allele_depths.tsv.gz", "genotypes.bcf"
            ),
        shell:
            "("
            + FROM_REFERENCE_CACHE
            + "bcftools merge --no-version -m none -f PASS -Ou {input.vcfs} | "
            "bcftools view --no-version -v snps -m2 -M2 -Ou | "
            "bcftools query -f '%CHROM\\t%POS\\t%REF,%ALT\\n' | bgzip -c > {output.sites} && "
            "tabix -f -s1 -b2 -e2 {output.sites} && "
            + read_in_place("{input.crams}")
            + "bcftools mpileup --no-version -f {params.reference} -T {output.sites} -d 10000 -q 20 -Q 20 "
            "-a FORMAT/AD,FORMAT/DP -Ou {input.crams} | "
            "bcftools call --no-version -m -C alleles -T {output.sites} -Ob -o {params.genotypes} && "
            "(bcftools query -l {params.genotypes} | paste -sd '\\t' && "
            "bcftools query -f '%CHROM\\t%POS[\\t%GT:%AD]\\n' {params.genotypes}) | gzip -n > {output.depths} && rm {params.genotypes}"
            ") 2> {log}"


rule check_identity:
    input:
        depths=out("qc/identity/allele_depths.tsv.gz"),
    output:
        identity=out("qc/identity/identity_qc.tsv"),
        contamination=out("qc/identity/contamination_qc.tsv"),
    log:
        log_of("identity/check_identity"),
    benchmark:
        benchmark_of("identity/check_identity")
    conda:
        "../envs/python.yaml"
    params:
        samples=SAMPLES,
        relatives={s.sample: list(s.relatives) for s in SHEETS.samples.values()},
        settings=IDENTITY,
    script:
        "../scripts/workflow_step.py"
