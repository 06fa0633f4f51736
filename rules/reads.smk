rule run_fastqc:
    input:
        r1=lambda wc: unit_of(wc).fq1,
        r2=lambda wc: unit_of(wc).fq2,
    output:
        r1=out("qc/fastqc/{sample}.{unit}_R1_fastqc.zip"),
        r2=out("qc/fastqc/{sample}.{unit}_R2_fastqc.zip"),
        # kept, not temp(): in a remote (AWS Batch) job Snakemake deletes a temp output nothing
        # consumes before uploading it, and the main process then waits for it in vain
        html=expand(
            out("qc/fastqc/{{sample}}.{{unit}}_{read}_fastqc.html"),
            read=["R1", "R2"],
        ),
    log:
        log_of("fastqc/{sample}.{unit}"),
    benchmark:
        benchmark_of("fastqc/{sample}.{unit}")
    conda:
        "../envs/fastqc.yaml"
    threads: 2
    resources:
        mem_mb=1024,
    params:
        outdir=lambda wc: out(f"qc/fastqc/{wc.sample}.{wc.unit}.tmp"),
    # FastQC names its report after the input file; links named after sample and unit give
    # MultiQC readable sample names whatever the FASTQs are called.
    shell:
        "rm -rf {params.outdir} && mkdir -p {params.outdir} && "
        "ln -s $(realpath {input.r1}) {params.outdir}/{wildcards.sample}.{wildcards.unit}_R1.fastq.gz && "
        "ln -s $(realpath {input.r2}) {params.outdir}/{wildcards.sample}.{wildcards.unit}_R2.fastq.gz && "
        "fastqc --quiet --threads {threads} --outdir {params.outdir} "
        "{params.outdir}/*.fastq.gz > {log} 2>&1 && "
        "mv {params.outdir}/*_fastqc.zip {params.outdir}/*_fastqc.html $(dirname {output.r1}) && "
        "rm -rf {params.outdir}"
