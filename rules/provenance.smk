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


rule write_run_manifest:
    input:
        versions=expand(out("manifest/versions/{tool}.txt"), tool=TOOLS),
        reads=[path for u in SHEETS.units.values() for path in (u.fq1, u.fq2)],
        reference=SOURCE_FASTA,
        results=[
            *cram_outputs(),
            *vcf_outputs(),
            out("qc/qc_summary.tsv"),
            out("qc/qc_summary.json"),
            out("qc/multiqc_report.html"),
        ],
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
        workflow_dir=workflow.basedir,
        snakemake_version=SNAKEMAKE_VERSION,
    script:
        "../scripts/workflow_step.py"
