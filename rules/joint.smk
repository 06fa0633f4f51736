# Joint genotyping of each group (calling.joint) by GATK and DeepVariant, per chunk, from the samples'
# kept per-sample gVCFs (vcf/gvcf/, gather_gvcf): a sample added to a group has its own gVCF made, and no
# other sample's is recomputed. gather_joint_calls gathers the chunks. bcftools and FreeBayes call a
# group from its CRAMs (rules/calling.smk).


# The group's GenomicsDB workspace of the chunk is kept beside the receipt, not declared (Snakemake
# would delete it before the job): seqpipe.genomicsdb_workspace imports only the group's new samples
# into it, or rebuilds it when a sample left the group, a gVCF was rewritten or the chunk changed. Under
# S3 storage a job's disk does not outlive it: the workspace is rebuilt in every job and removed.
# GenotypeGVCFs' samples come in import order: put back in the sheet's, so that an updated workspace and a
# rebuilt one give the same VCF; GATK's command-line header lines (run dates) are dropped.
rule genotype_gatk_joint:
    input:
        gvcfs=group_gvcfs("gatk"),
        tbis=lambda wc: [f"{g}.tbi" for g in group_gvcfs("gatk")(wc)],
        reference=reference_files(f"{REFERENCE}.fai", out("reference/genome.dict")),
        bed=out("reference/chunks/{chunk}.bed"),
    output:
        calls=temp(out("calls/gatk/joint/{group}.{chunk}.bcf")),
        receipt=out("calls/gatk/joint/{group}.{chunk}.imports.json"),
    log:
        log_of("calls/gatk/joint/{group}.{chunk}"),
    benchmark:
        benchmark_of("calls/gatk/joint/{group}.{chunk}")
    conda:
        "../envs/gatk4.yaml"
    resources:
        mem_mb=4096,
    params:
        reference=reference_path,
        workspace=lambda wc: out(f"calls/gatk/joint/{wc.group}.{wc.chunk}.genomicsdb"),
        gvcfs=lambda wc, input: " ".join(
            f"{s}={g}" for s, g in zip(GROUPS[wc.group], input.gvcfs)
        ),
        samples=lambda wc: ",".join(GROUPS[wc.group]),
        # GenomicsDB's native buffers live outside the Java heap
        heap_mb=lambda wc, resources: resources.mem_mb * 3 // 4,
        not_kept="--not-kept" if STORAGE else "",
        genotyped=lambda wc, output: output.calls.replace(".bcf", ".genotyped.vcf.gz"),
    shell:
        "("
        + FROM_REFERENCE_CACHE
        + unless_empty_chunk(
            f"PYTHONPATH={workflow.basedir}/src python -m seqpipe.genomicsdb_workspace "
            "--workspace {params.workspace} --intervals {input.bed} --receipt {output.receipt} "
            "--heap-mb {params.heap_mb} {params.not_kept} {params.gvcfs} && "
            "gatk --java-options -Xmx{params.heap_mb}m GenotypeGVCFs -R {params.reference} "
            "-V gendb://{params.workspace} -L {input.bed} -O {params.genotyped} && "
            "bcftools view --no-version -s {params.samples} {params.genotyped} | "
            "grep -v '^##GATKCommandLine' | bcftools view --no-version -Ob -o {output.calls} && "
            "rm -f {params.genotyped}*"
            + (" && rm -rf {params.workspace}" if STORAGE else ""),
            "{output.calls} {output.receipt}",
        )
        + ") > {log} 2>&1"


# GLnexus reads the chunk's records of the group's kept gVCFs (--bed) into a fresh database every time;
# that costs no sample's calling.
rule genotype_deepvariant_joint:
    input:
        gvcfs=group_gvcfs("deepvariant"),
        bed=out("reference/chunks/{chunk}.bed"),
    output:
        temp(out("calls/deepvariant/joint/{group}.{chunk}.bcf")),
    log:
        log_of("calls/deepvariant/joint/{group}.{chunk}"),
    benchmark:
        benchmark_of("calls/deepvariant/joint/{group}.{chunk}")
    conda:
        "../envs/glnexus.yaml"
    threads: THREADS
    resources:
        mem_mb=8192,
    params:
        workdir=lambda wc: out(
            f"calls/deepvariant/tmp/{wc.group}.{wc.chunk}.GLnexus.DB"
        ),
    shell:
        "("
        + unless_empty_chunk(
            "rm -rf {params.workdir} && glnexus_cli --config DeepVariantWGS --dir {params.workdir} "
            "--bed {input.bed} --threads {threads} {input.gvcfs} | bcftools view -Ob -o {output} && "
            "rm -rf {params.workdir}",
            "{output}",
        )
        + ") 2> {log}"
