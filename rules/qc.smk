# The BAM QC rules read every byte of the sample's CRAM, so they read it where it was written: on AWS
# Batch they run in the sample's alignment job group (profiles/aws-batch), which has the CRAM on its
# disk, and move nothing. (Read in place from S3, each of them would cost the CRAM's size again.)


rule compute_alignment_stats:
    input:
        cram=lambda wc: cram_of(wc.sample),
        crai=lambda wc: f"{cram_of(wc.sample)}.crai",
        reference=reference_files(f"{REFERENCE}.fai"),
    output:
        stats=out("qc/samtools/{sample}.stats"),
        flagstat=out("qc/samtools/{sample}.flagstat"),
        idxstats=out("qc/samtools/{sample}.idxstats"),
    log:
        log_of("compute_alignment_stats/{sample}"),
    benchmark:
        benchmark_of("compute_alignment_stats/{sample}")
    conda:
        "../envs/samtools.yaml"
    params:
        reference=reference_path,
    shell:
        "("
        + FROM_REFERENCE_CACHE
        + "samtools stats -r {params.reference} --reference {params.reference} "
        "{input.cram} > {output.stats} && "
        "samtools flagstat --input-fmt-option reference={params.reference} {input.cram} "
        "> {output.flagstat} && "
        "samtools idxstats --input-fmt-option reference={params.reference} {input.cram} "
        "> {output.idxstats}) 2> {log}"


rule compute_coverage:
    input:
        cram=lambda wc: cram_of(wc.sample),
        crai=lambda wc: f"{cram_of(wc.sample)}.crai",
        reference=reference_files(f"{REFERENCE}.fai"),
    output:
        summary=out("qc/mosdepth/{sample}.mosdepth.summary.txt"),
        dist=out("qc/mosdepth/{sample}.mosdepth.global.dist.txt"),
        regions=out("qc/mosdepth/{sample}.regions.bed.gz"),
        regions_dist=out("qc/mosdepth/{sample}.mosdepth.region.dist.txt"),
    log:
        log_of("compute_coverage/{sample}"),
    benchmark:
        benchmark_of("compute_coverage/{sample}")
    conda:
        "../envs/mosdepth.yaml"
    params:
        reference=reference_path,
        # from the output, so it is the job's local path under S3 storage too
        prefix=lambda wc, output: output.summary.removesuffix(".mosdepth.summary.txt"),
        window=config["qc"]["mosdepth_window"],
    shell:
        "("
        + FROM_REFERENCE_CACHE
        + "mosdepth --no-per-base --fast-mode --fasta {params.reference} "
        "--by {params.window} {params.prefix} {input.cram} && "
        "rm -f {params.prefix}.regions.bed.gz.csi) 2> {log}"


rule compute_variant_stats:
    input:
        vcf=out("vcf/{prefix}.vcf.gz"),
        reference=reference_files(f"{REFERENCE}.fai"),
    output:
        out("qc/bcftools/{prefix}.stats"),
    log:
        log_of("compute_variant_stats/{prefix}"),
    benchmark:
        benchmark_of("compute_variant_stats/{prefix}")
    conda:
        "../envs/bcftools.yaml"
    params:
        reference=reference_path,
    # PASS calls only: soft-filtered records stay in the VCF but should not move Ts/Tv.
    shell:
        "("
        + FROM_REFERENCE_CACHE
        + "bcftools stats -f PASS -F {params.reference} -s - {input.vcf} "
        "> {output}) 2> {log}"


rule summarize_qc:
    input:
        fastp=[
            out(f"qc/fastp/{u.sample}.{u.unit}.fastp.json")
            for sample in SAMPLES
            for u in units_of(sample)
        ],
        flagstat=expand(out("qc/samtools/{sample}.flagstat"), sample=SAMPLES),
        mosdepth=expand(
            out("qc/mosdepth/{sample}.mosdepth.summary.txt"), sample=SAMPLES
        ),
        markdup=markdup_files(),
        verdicts=[f for f in demux_qc_files() if os.path.basename(f) == "demux_qc.tsv"]
        + [out("qc/sex_check.tsv")]
        + identity_verdict_files(),
        variant_stats=expand(
            out("qc/bcftools/{sample}.{caller}.stats"), sample=SAMPLES, caller=CALLERS
        ),
        targets=[f for sample in SAMPLES for f in target_qc_files(sample)],
    output:
        tsv=out("qc/qc_summary.tsv"),
        multiqc=out("qc/qc_summary_mqc.tsv"),
        json=out("qc/qc_summary.json"),
    log:
        log_of("summarize_qc"),
    benchmark:
        benchmark_of("summarize_qc")
    conda:
        "../envs/python.yaml"
    params:
        samples=SAMPLES,
        callers=CALLERS,
        units={sample: [u.unit for u in units_of(sample)] for sample in SAMPLES},
        # a param, so that changing a threshold re-evaluates the verdicts
        thresholds=QC_THRESHOLDS,
    script:
        "../scripts/workflow_step.py"


rule report_multiqc:
    input:
        expand(out("qc/fastp/{u.sample}.{u.unit}.fastp.json"), u=SHEETS.units.values()),
        expand(
            out("qc/fastqc/{u.sample}.{u.unit}_{read}_fastqc.zip"),
            u=SHEETS.units.values(),
            read=["R1", "R2"],
        ),
        expand(
            out("qc/samtools/{sample}.{ext}"),
            sample=SAMPLES,
            ext=["stats", "flagstat", "idxstats"],
        ),
        expand(
            out("qc/mosdepth/{sample}.mosdepth.{ext}"),
            sample=SAMPLES,
            ext=["summary.txt", "global.dist.txt"],
        ),
        markdup_files(),
        stats_of_vcfs(),
        demux_qc_files(),
        out("qc/qc_summary_mqc.tsv"),
        out("qc/sex_check_mqc.tsv"),
        out("manifest/software_mqc_versions.yml"),
        config=workflow.source_path("../config/multiqc.yaml"),
    output:
        html=report(
            out("qc/multiqc_report.html"),
            caption="../report/multiqc.rst",
            category="Quality control",
        ),
        # files, not directory(): the S3 storage plugin remembers a directory as absent when the
        # DAG is built and reports it missing after an AWS Batch job uploaded it
        data=out("qc/multiqc_data/multiqc_data.json"),
        general_stats=out("qc/multiqc_data/multiqc_general_stats.txt"),
        sources=out("qc/multiqc_data/multiqc_sources.txt"),
    log:
        log_of("report_multiqc"),
    benchmark:
        benchmark_of("report_multiqc")
    conda:
        "../envs/multiqc.yaml"
    resources:
        mem_mb=2048,
    params:
        outdir=lambda wc, output: os.path.dirname(output.html),
    shell:
        "multiqc --force --no-ansi --config {input.config} --outdir {params.outdir} "
        "{input} > {log} 2>&1"
