rule report_tool_version:
    output:
        out("manifest/versions/{tool}.txt"),
    log:
        log_of("versions/{tool}"),
    benchmark:
        benchmark_of("versions/{tool}")
    conda:
        "../envs/{tool}.yaml"
    params:
        command=lambda wc: VERSION_COMMANDS[wc.tool],
    shell:
        "({params.command}) > {output} 2> {log}"


rule collect_software_versions:
    input:
        expand(out("manifest/versions/{tool}.txt"), tool=TOOLS),
    output:
        out("manifest/software_mqc_versions.yml"),
    log:
        log_of("collect_software_versions"),
    benchmark:
        benchmark_of("collect_software_versions")
    conda:
        "../envs/python.yaml"
    script:
        "../scripts/workflow_step.py"


# Checksums of a sample's FASTQs and CRAM are computed where those files are: on AWS Batch in the
# sample's alignment job group (profiles/aws-batch), so the run manifest moves none of them again.
rule checksum_sample:
    input:
        reads=lambda wc: reads_of(wc.sample),
        cram=lambda wc: cram_files(wc.sample),
    output:
        out("manifest/checksums/{sample}.tsv"),
    log:
        log_of("checksum_sample/{sample}"),
    benchmark:
        benchmark_of("checksum_sample/{sample}")
    conda:
        "../envs/python.yaml"
    params:
        reads=lambda wc: reads_of(wc.sample),
        cram=lambda wc: cram_files(wc.sample),
    script:
        "../scripts/workflow_step.py"


MANIFEST_RESULTS = [
    *vcf_outputs(),
    out("qc/qc_summary.tsv"),
    out("qc/qc_summary.json"),
    out("qc/multiqc_report.html"),
]


rule write_run_manifest:
    input:
        versions=expand(out("manifest/versions/{tool}.txt"), tool=TOOLS),
        checksums=expand(out("manifest/checksums/{sample}.tsv"), sample=SAMPLES),
        bundle=BUNDLE_MANIFEST,
        results=MANIFEST_RESULTS,
    output:
        out("manifest/run_manifest.json"),
    log:
        log_of("write_run_manifest"),
    benchmark:
        benchmark_of("write_run_manifest")
    conda:
        "../envs/python.yaml"
    params:
        config=config,
        # the source FASTA is recorded with the checksum of its copy in the reference bundle
        reference=SOURCE_FASTA,
        reference_copy=os.path.basename(REFERENCE),
        results=MANIFEST_RESULTS,
        workflow_dir=workflow.basedir,
        snakemake_version=SNAKEMAKE_VERSION,
    script:
        "../scripts/workflow_step.py"
