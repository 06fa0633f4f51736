# The alignment chain is the critical path of a run: its rules get a high priority so QC,
# versions and other side jobs fill the gaps instead of delaying it.
#
# reads -> map_reads (per unit: fastp | bwa | header | fixmate | sort) -> mark_duplicates (per sample:
# merge units | markdup | CRAM). The unit BAMs are temporary; on AWS Batch the profile runs a sample's
# units, its duplicate marking and its QC as one job group on one machine (profiles/aws-batch), and
# the unit BAMs stay there: a group job does not upload temporary files that only the group reads.
# The CRAM is the only alignment product that leaves that machine.
#
# Outputs are byte-identical from run to run and engine to engine (tests/execution/test_batch_data_movement.py, tests/execution/test_resume.py):
# * fastp runs one thread: its threads hand trimmed pairs on in the order they finish, which changes
#   bwa's batches (so its insert-size estimates) and the order of reads at one position. One fastp
#   thread trims ~70,000 pairs/s here, several times what bwa mem aligns on 16 threads.
# * the CRAM is encoded by one thread: htslib's multi-threaded CRAM encoder picks codecs by trials
#   whose order depends on timing, so its bytes differ from run to run.
# * nothing of the job's environment enters the file: samtools steps run with --no-PG (their command
#   lines hold job-local paths); the CRAM is written to a pipe (htslib would record the output path as
#   the file's id) and its header rewritten in the stream, without bwa's thread count and without
#   @SQ UR (the absolute path of the reference in the job; decoders find the reference by M5, and the
#   run manifest names it).


# Reads are trimmed, not dropped, wherever the aligner can use what is left (docs/usage.md, trimming):
# fastp's default N limit (5 bases) drops every pair with a short run of N cycles, a quarter of the
# pairs of some real HiSeq X lanes, which bwa aligns well. fastp takes only an absolute limit (at most
# 50), so it is the configured share of the unit's longest read among its first 1,000 (gzip ends on
# SIGPIPE when awk has read enough).
N_BASE_LIMIT = (
    "$( (gzip -cdf {input.r1} || true) | awk -v pct={params.trimming[max_n_pct]} "
    "'NR % 4 == 2 && length($0) > m {{m = length($0)}} NR == 4000 {{exit}} "
    "END {{n = int(m * pct / 100); print (n > 50 ? 50 : n)}}')"
)


rule map_reads:
    input:
        r1=lambda wc: unit_of(wc).fq1,
        r2=lambda wc: unit_of(wc).fq2,
        reference=reference_files(*ALIGNER_FILES),
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
        reference=reference_path,
        read_group=lambda wc: unit_of(wc).read_group(),
        aligner="bwa-mem2" if config["aligner"] == "bwa-mem2" else "bwa",
        batch_bases=config["mapping"]["batch_bases"],
        trimming=config["trimming"],
        tmp=lambda wc, output: f"{output.bam}.sort",
    # fastp streams trimmed pairs into the aligner and fixmate streams into sort, so neither
    # trimmed FASTQ nor SAM ever touches the disk. -K makes the alignments independent of threads.
    shell:
        "("
        + FROM_REFERENCE_CACHE
        + "(fastp --in1 {input.r1} --in2 {input.r2} --stdout --thread 1 "
        "--json {output.json} --html {output.html} --report_title '{wildcards.sample} {wildcards.unit}' "
        "--n_base_limit "
        + N_BASE_LIMIT
        + " --cut_tail --cut_tail_window_size {params.trimming[tail_window]} "
        "--cut_tail_mean_quality {params.trimming[tail_quality]} "
        "--length_required {params.trimming[min_length]} "
        "2> {log.fastp}) | "
        "{params.aligner} mem -p -t {threads} -K {params.batch_bases} -R '{params.read_group}' "
        "{params.reference} - | "
        "samtools fixmate --no-PG -m -u - - | "
        "samtools sort --no-PG -@ {threads} -m 768M -l 1 -T {params.tmp} -o {output.bam} -) 2> {log.align}"


# The CRAM header without what depends on the job (see the top of this file).
CRAM_HEADER = r"sed -e 's/\tUR:[^\t]*//' -e '/^@PG\tID:bwa/s/ -t [0-9]*//'"


# Units are merged in the stream, markdup needs the mate tags fixmate -m added, and the CRAM is
# written from the stream: no merged or duplicate-marked BAM is ever written. -c -p: colliding
# read-group/program IDs are combined, not given random suffixes (byte-identical reruns).
rule mark_duplicates:
    input:
        bams=lambda wc: expand(
            out("align/{{sample}}/{unit}.bam"),
            unit=[u.unit for u in units_of(wc.sample)],
        ),
        reference=reference_files(f"{REFERENCE}.fai"),
    output:
        cram=out("cram/{sample}.cram"),
        crai=out("cram/{sample}.cram.crai"),
        md5=out("cram/{sample}.cram.md5"),
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
        reference=reference_path,
        header=CRAM_HEADER,
        tmp=lambda wc, output: f"{output.cram}.markdup",
    shell:
        "("
        + FROM_REFERENCE_CACHE
        + "samtools merge --no-PG -u -c -p -@ {threads} -o - {input.bams} | "
        "samtools markdup --no-PG -u -l 1 -T {params.tmp} -f {output.stats} - - | "
        "samtools view --no-PG -C -T {params.reference} -o - - | "
        "samtools reheader --no-PG -c {params.header:q} - > {output.cram} && "
        "samtools index {output.cram} {output.crai} && "
        "(cd $(dirname {output.cram}) && md5sum $(basename {output.cram})) > {output.md5}) 2> {log}"


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
            "samtools merge --no-PG -c -p -@ {threads} -l 1 -o {output} {input} 2> {log}"

    # Picard writes a BAM beside the CRAM (a scratch file of this job, never an output), which
    # samtools then encodes; PROGRAM_RECORD_ID null: no @PG line with this job's paths.
    rule mark_duplicates_picard:
        input:
            bam=out("align/{sample}.merged.bam"),
            reference=reference_files(f"{REFERENCE}.fai"),
        output:
            cram=out("cram/{sample}.cram"),
            crai=out("cram/{sample}.cram.crai"),
            md5=out("cram/{sample}.cram.md5"),
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
        params:
            reference=reference_path,
            header=CRAM_HEADER,
            scratch=lambda wc, output: f"{output.cram}.markdup.bam",
        # Debian names Picard's launcher PicardCommandLine; bioconda names it picard.
        shell:
            "("
            + FROM_REFERENCE_CACHE
            + "$(command -v picard || command -v PicardCommandLine) MarkDuplicates "
            "-I {input.bam} -O {params.scratch} -M {output.stats} --CREATE_INDEX false "
            "--PROGRAM_RECORD_ID null --VALIDATION_STRINGENCY SILENT "
            "--TMP_DIR $(dirname {output.cram}) && "
            "samtools view --no-PG -C -T {params.reference} -o - {params.scratch} | "
            "samtools reheader --no-PG -c {params.header:q} - > {output.cram} && rm {params.scratch} && "
            "samtools index {output.cram} {output.crai} && "
            "(cd $(dirname {output.cram}) && md5sum $(basename {output.cram})) > {output.md5}) > {log} 2>&1"

    ruleorder: mark_duplicates_picard > mark_duplicates
