# The alignment chain is the critical path of a run: its rules get a high priority so QC,
# versions and other side jobs fill the gaps instead of delaying it.


rule map_reads:
    input:
        r1=lambda wc: unit_of(wc).fq1,
        r2=lambda wc: unit_of(wc).fq2,
        reference=REFERENCE,
        index=[f"{REFERENCE}.{ext}" for ext in ALIGNER_INDEX],
    output:
        bam=temp(out("align/{sample}/{unit}.bam")),
        json=out("qc/fastp/{sample}.{unit}.fastp.json"),
        html=out("qc/fastp/{sample}.{unit}.fastp.html"),
    log:
        fastp=log_of("fastp/{sample}.{unit}"),
        align=log_of("map_reads/{sample}.{unit}"),
    benchmark:
        benchmark_of("map_reads/{sample}.{unit}")
    priority: 50
    conda:
        f"../envs/{config['aligner']}.yaml"
    threads: THREADS
    resources:
        mem_mb=lambda wc, threads: 2048 + 768 * threads,
    params:
        read_group=lambda wc: unit_of(wc).read_group(),
        aligner="bwa-mem2" if config["aligner"] == "bwa-mem2" else "bwa",
        batch_bases=config["mapping"]["batch_bases"],
        tmp=lambda wc: out(f"align/{wc.sample}/{wc.unit}.sort"),
    # fastp streams trimmed pairs into the aligner and fixmate streams into sort, so neither
    # trimmed FASTQ nor SAM ever touches the disk. -K makes the output independent of threads.
    shell:
        "(fastp --in1 {input.r1} --in2 {input.r2} --stdout --thread {threads} "
        "--json {output.json} --html {output.html} --report_title '{wildcards.sample} {wildcards.unit}' "
        "2> {log.fastp}) | "
        "({params.aligner} mem -p -t {threads} -K {params.batch_bases} -R '{params.read_group}' "
        "{input.reference} - | samtools fixmate -m -u - - | "
        "samtools sort -@ {threads} -m 768M -l 1 -T {params.tmp} -o {output.bam} -) 2> {log.align}"


rule mark_duplicates:
    input:
        lambda wc: expand(
            out("align/{{sample}}/{unit}.bam"),
            unit=[u.unit for u in units_of(wc.sample)],
        ),
    output:
        bam=temp(out("align/{sample}.markdup.bam")),
        bai=temp(out("align/{sample}.markdup.bam.bai")),
        stats=out("qc/markdup/{sample}.markdup.txt"),
    log:
        log_of("mark_duplicates/{sample}"),
    benchmark:
        benchmark_of("mark_duplicates/{sample}")
    priority: 50
    conda:
        "../envs/samtools.yaml"
    threads: THREADS
    resources:
        mem_mb=1024,
    params:
        tmp=lambda wc: out(f"align/{wc.sample}.markdup.tmp"),
    # Units are merged in the stream; markdup needs the mate tags fixmate -m added. -c -p: colliding
    # read-group/program IDs are combined, not given random suffixes (byte-identical reruns).
    shell:
        "(samtools merge -u -c -p -o - {input} | "
        "samtools markdup -@ {threads} -l 1 -T {params.tmp} -f {output.stats} "
        "--write-index - {output.bam}##idx##{output.bai}) 2> {log}"


if config["duplicates"]["tool"] == "picard":

    rule merge_units:
        input:
            lambda wc: expand(
                out("align/{{sample}}/{unit}.bam"),
                unit=[u.unit for u in units_of(wc.sample)],
            ),
        output:
            temp(out("align/{sample}.merged.bam")),
        log:
            log_of("merge_units/{sample}"),
        benchmark:
            benchmark_of("merge_units/{sample}")
        priority: 50
        conda:
            "../envs/samtools.yaml"
        threads: THREADS
        shell:
            "samtools merge -c -p -@ {threads} -l 1 -o {output} {input} 2> {log}"

    rule mark_duplicates_picard:
        input:
            out("align/{sample}.merged.bam"),
        output:
            bam=temp(out("align/{sample}.markdup.bam")),
            bai=temp(out("align/{sample}.markdup.bam.bai")),
            stats=out("qc/markdup/{sample}.markdup.txt"),
        log:
            log_of("mark_duplicates/{sample}"),
        benchmark:
            benchmark_of("mark_duplicates/{sample}")
        priority: 50
        conda:
            "../envs/picard.yaml"
        resources:
            mem_mb=4096,
        # Debian names Picard's launcher PicardCommandLine; bioconda names it picard.
        shell:
            "($(command -v picard || command -v PicardCommandLine) MarkDuplicates "
            "-I {input} -O {output.bam} -M {output.stats} --CREATE_INDEX false "
            "--VALIDATION_STRINGENCY SILENT --TMP_DIR $(dirname {output.bam}) && "
            "samtools index {output.bam} {output.bai}) > {log} 2>&1"

    ruleorder: mark_duplicates_picard > mark_duplicates


rule convert_to_cram:
    input:
        bam=out("align/{sample}.markdup.bam"),
        reference=REFERENCE,
        fai=f"{REFERENCE}.fai",
    output:
        cram=out("cram/{sample}.cram"),
        crai=out("cram/{sample}.cram.crai"),
        md5=out("cram/{sample}.cram.md5"),
    log:
        log_of("convert_to_cram/{sample}"),
    benchmark:
        benchmark_of("convert_to_cram/{sample}")
    conda:
        "../envs/samtools.yaml"
    threads: THREADS
    shell:
        "(samtools view -@ {threads} -C -T {input.reference} "
        "--write-index -o {output.cram}##idx##{output.crai} {input.bam} && "
        "(cd $(dirname {output.cram}) && md5sum $(basename {output.cram})) > {output.md5}) 2> {log}"
