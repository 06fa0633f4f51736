# Every caller runs per reference chunk (scatter) for one sample or, with calling.joint, for all
# samples of a group; gather_calls then concatenates, normalizes and soft-filters the chunks.


wildcard_constraints:
    scope="sample|joint",
    group="|".join(GROUPS),


def samples_in(scope, name):
    return [name] if scope == "sample" else GROUPS[name]


def analysis_bam(sample):
    if "gatk" in CALLERS and CALLING["gatk"]["bqsr"]:
        return out(f"align/{sample}.recal.bam")
    return out(f"align/{sample}.markdup.bam")


def bams_for(wc):
    names = samples_in(wc.scope, wc.name)
    return expand(out("align/{sample}.markdup.bam"), sample=names)


def chunk_calls(caller, scope, name):
    # DeepVariant writes a VCF per sample and chunk; every other path ends in BCF.
    ext = "vcf.gz" if (caller, scope) == ("deepvariant", "sample") else "bcf"
    return expand(out(f"calls/{caller}/{scope}/{name}.{{chunk}}.{ext}"), chunk=CHUNKS)


CALLING_INPUT = dict(
    bams=bams_for,
    bais=lambda wc: [f"{b}.bai" for b in bams_for(wc)],
    reference=REFERENCE,
    fai=f"{REFERENCE}.fai",
    bed=out("reference/chunks/{chunk}.bed"),
)


rule call_bcftools:
    input:
        **CALLING_INPUT,
    output:
        temp(out("calls/bcftools/{scope}/{name}.{chunk}.bcf")),
    log:
        log_of("calls/bcftools/{scope}/{name}.{chunk}"),
    benchmark:
        benchmark_of("calls/bcftools/{scope}/{name}.{chunk}")
    conda:
        "../envs/bcftools.yaml"
    shell:
        "(bcftools mpileup -f {input.reference} -R {input.bed} -a FORMAT/AD,FORMAT/DP -Ou {input.bams} | "
        "bcftools call -m -v -Ob -o {output}) 2> {log}"


rule call_freebayes:
    input:
        **CALLING_INPUT,
    output:
        temp(out("calls/freebayes/{scope}/{name}.{chunk}.bcf")),
    log:
        log_of("calls/freebayes/{scope}/{name}.{chunk}"),
    benchmark:
        benchmark_of("calls/freebayes/{scope}/{name}.{chunk}")
    conda:
        "../envs/freebayes.yaml"
    shell:
        "(freebayes -f {input.reference} -t {input.bed} {input.bams} | "
        "bcftools view -Ob -o {output}) 2> {log}"


rule gather_calls:
    input:
        chunks=lambda wc: chunk_calls(wc.caller, "sample", wc.sample),
        reference=REFERENCE,
        fai=f"{REFERENCE}.fai",
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
        min_qual=CALLING["min_qual"],
        min_depth=CALLING["min_depth"],
    # bcftools 1.16 cannot split multiallelics and drop duplicates (chunk edges) in one norm.
    # Filters mark records in FILTER and never drop them; RefCall marks sites no sample carries
    # an ALT allele at (freebayes reports such sites).
    shell:
        "(bcftools concat -Ou {input.chunks} | "
        "bcftools norm -f {input.reference} -m- -Ou | bcftools norm --rm-dup exact -Ou | "
        "bcftools filter -m+ -s LowQual -e 'QUAL<{params.min_qual}' -Ou | "
        "bcftools filter -m+ -s LowDepth -e 'INFO/DP<{params.min_depth}' -Ou | "
        "bcftools filter -m+ -s RefCall -e 'N_PASS(GT=\"alt\")==0' -Oz -o {output.vcf} && "
        "tabix -f -p vcf {output.vcf}) 2> {log}"


use rule gather_calls as gather_joint_calls with:
    input:
        chunks=lambda wc: chunk_calls(wc.caller, "joint", wc.group),
        reference=REFERENCE,
        fai=f"{REFERENCE}.fai",
    output:
        vcf=out("vcf/joint/{group}.{caller}.vcf.gz"),
        tbi=out("vcf/joint/{group}.{caller}.vcf.gz.tbi"),
    log:
        log_of("gather_calls/joint/{group}.{caller}"),
    benchmark:
        benchmark_of("gather_calls/joint/{group}.{caller}")
