# Targeted sequencing (config `targets`) and amplicon mode (config `amplicon`), docs/usage.md.
#
# The BEDs are checked here, while the workflow is parsed: a bad line stops the run before any job,
# naming the file and the line. Calling runs on chunks of the padded targets (split_reference), and
# QC adds the target metrics of compute_target_coverage. In amplicon mode clip_primers takes the
# place of mark_duplicates: every read of an amplicon starts at its primer, so marking duplicates
# would collapse the depth to one read per primer pair.

from seqpipe.targets import read_bed, target_thresholds

TARGETS = config.get("targets")
AMPLICON = config.get("amplicon")
if TARGETS or AMPLICON:
    _CONTIGS = contig_lengths(config["reference"]["fasta"])
    if TARGETS:
        read_bed(TARGETS["bed"], _CONTIGS, "targets.bed")
    if AMPLICON:
        read_bed(AMPLICON["primers"], _CONTIGS, "amplicon.primers")
TARGET_BED = out("reference/targets.bed")
PADDED_TARGET_BED = out("reference/targets.padded.bed")
QC_THRESHOLDS = target_thresholds(config)
# the depth whose share of target bases is reported (target_20x_pct)
TARGET_DEPTH = 20


if TARGETS:

    rule prepare_targets:
        input:
            bed=TARGETS["bed"],
            fai=f"{REFERENCE}.fai",
        output:
            merged=TARGET_BED,
            padded=PADDED_TARGET_BED,
        log:
            log_of("reference/prepare_targets"),
        benchmark:
            benchmark_of("reference/prepare_targets")
        conda:
            "../envs/python.yaml"
        params:
            padding=TARGETS["padding"],
        script:
            "../scripts/workflow_step.py"

    # Depth over the targets as given (mosdepth excludes duplicates), and the on-target rate: the
    # share of primary, mapped, non-duplicate reads that overlap a padded target.
    rule compute_target_coverage:
        input:
            cram=lambda wc: cram_of(wc.sample),
            crai=lambda wc: f"{cram_of(wc.sample)}.crai",
            reference=reference_files(f"{REFERENCE}.fai"),
            targets=TARGET_BED,
            padded=PADDED_TARGET_BED,
        output:
            summary=out("qc/targets/{sample}.mosdepth.summary.txt"),
            dist=out("qc/targets/{sample}.mosdepth.global.dist.txt"),
            regions_dist=out("qc/targets/{sample}.mosdepth.region.dist.txt"),
            regions=out("qc/targets/{sample}.regions.bed.gz"),
            thresholds=out("qc/targets/{sample}.thresholds.bed.gz"),
            on_target=out("qc/targets/{sample}.on_target.txt"),
        log:
            log_of("compute_target_coverage/{sample}"),
        benchmark:
            benchmark_of("compute_target_coverage/{sample}")
        conda:
            "../envs/mosdepth.yaml"
        params:
            reference=reference_path,
            prefix=lambda wc, output: output.summary.removesuffix(
                ".mosdepth.summary.txt"
            ),
            depth=TARGET_DEPTH,
        shell:
            "("
            + FROM_REFERENCE_CACHE
            + "mosdepth --no-per-base --fast-mode --fasta {params.reference} --by {input.targets} "
            "--thresholds {params.depth} {params.prefix} {input.cram} && "
            "rm -f {params.prefix}.regions.bed.gz.csi {params.prefix}.thresholds.bed.gz.csi && "
            "printf 'reads\\t%s\\non_target\\t%s\\n' "
            "$(samtools view -c -F 0xF04 -T {params.reference} {input.cram}) "
            "$(samtools view -c -F 0xF04 -T {params.reference} -L {input.padded} {input.cram}) "
            "> {output.on_target}) 2> {log}"


if AMPLICON:

    # merge units | clip primers | restore mate fields (clipping moved positions) | sort | CRAM.
    # --strand clips a read at the primers of its own direction only; --both-ends also clips the
    # primer at the far end of reads that run through the whole amplicon.
    rule clip_primers:
        input:
            bams=lambda wc: expand(
                out("align/{{sample}}/{unit}.bam"),
                unit=[u.unit for u in units_of(wc.sample)],
            ),
            primers=AMPLICON["primers"],
            reference=reference_files(f"{REFERENCE}.fai"),
        output:
            cram=out("cram/{sample}.cram"),
            crai=out("cram/{sample}.cram.crai"),
            md5=out("cram/{sample}.cram.md5"),
            stats=out("qc/ampliconclip/{sample}.ampliconclip.txt"),
        log:
            log_of("clip_primers/{sample}"),
        benchmark:
            benchmark_of("clip_primers/{sample}")
        priority: 50
        conda:
            "../envs/samtools.yaml"
        threads: THREADS
        resources:
            mem_mb=1024,
        params:
            reference=reference_path,
            header=CRAM_HEADER,
            min_length=AMPLICON["min_length"],
            tmp=lambda wc, output: f"{output.cram}.clip",
        shell:
            "("
            + FROM_REFERENCE_CACHE
            + "samtools merge --no-PG -u -c -p -@ {threads} -o - {input.bams} | "
            "samtools ampliconclip --no-PG -u --strand --both-ends --filter-len {params.min_length} "
            "-b {input.primers} -f {output.stats} - | "
            "samtools collate --no-PG -u -O - {params.tmp}.collate | "
            "samtools fixmate --no-PG -u - - | "
            "samtools sort --no-PG -u -@ {threads} -m 768M -T {params.tmp}.sort - | "
            "samtools view --no-PG -C -T {params.reference} -o - - | "
            "samtools reheader --no-PG -c {params.header:q} - > {output.cram} && "
            "samtools index {output.cram} {output.crai} && "
            "(cd $(dirname {output.cram}) && md5sum $(basename {output.cram})) > {output.md5}) 2> {log}"

    ruleorder: clip_primers > mark_duplicates
