# Germline small-variant pipeline: (BCL →) FASTQ → CRAM → VCF → QC.
# Usage and outputs: docs/usage.md, docs/output.md.

from snakemake.utils import min_version

from seqpipe.execution.scheduler_exit import cancel_scheduler_timers

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/demux.smk"
include: "rules/reference.smk"
include: "rules/sex.smk"
include: "rules/reads.smk"
include: "rules/align.smk"
include: "rules/targets.smk"
include: "rules/calling.smk"
include: "rules/joint.smk"
include: "rules/identity.smk"
include: "rules/qc.smk"
include: "rules/provenance.smk"


rule all:
    default_target: True
    input:
        final_outputs(),


# Snakemake's scheduler would keep the finished process alive for its rate limiter's timespan.
onsuccess:
    cancel_scheduler_timers()


onerror:
    cancel_scheduler_timers()
