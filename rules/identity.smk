# Sample identity QC (docs/identity-and-targets.md): with two samples or more, every sample is
# genotyped at the run's own variant sites (the PASS biallelic SNPs any sample has from the first
# caller, bcftools mpileup | call -C alleles); seqpipe.identity compares all pairs and estimates each
# sample's contamination from the same genotypes and allele depths. Both end as verdicts in the QC
# summary.

IDENTITY = config["identity"]


# Sites with their alleles (call -C alleles) so that every sample is genotyped at every site, hom-ref
# included; mpileup keeps duplicates out and reads up to 10,000 reads per sample at a site.
rule genotype_identity_sites:
    input:
        vcfs=expand(
            out("vcf/{sample}.{caller}.vcf.gz"), sample=SAMPLES, caller=CALLERS[0]
        ),
        # bcftools merge reads the indexes beside the VCFs (a Batch job has only what it declares)
        tbis=expand(
            out("vcf/{sample}.{caller}.vcf.gz.tbi"), sample=SAMPLES, caller=CALLERS[0]
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
