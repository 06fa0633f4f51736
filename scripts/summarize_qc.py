"""Snakemake script: per-sample QC metrics and PASS/FAIL verdicts (qc_summary.tsv + a MultiQC table)."""

import sys

from seqpipe.qc_metrics import sample_metrics
from seqpipe.qc_report import write_multiqc_table
from seqpipe.qc_thresholds import evaluate, write_tsv

smk = snakemake  # noqa: F821 (injected by Snakemake)
sys.stderr = open(smk.log[0], "w")  # noqa: SIM115 (lives as long as the script)

samples, callers = smk.params.samples, smk.params.callers
metrics_by_sample = {}
verdicts = []
for i, sample in enumerate(samples):
    stats = {caller: smk.input.variant_stats[i * len(callers) + j] for j, caller in enumerate(callers)}
    metrics = sample_metrics(smk.input.flagstat[i], smk.input.mosdepth[i], smk.input.markdup[i], stats)
    metrics_by_sample[sample] = metrics
    verdicts += evaluate(sample, metrics, smk.params.thresholds)

write_tsv(verdicts, smk.output.tsv)
write_multiqc_table(metrics_by_sample, verdicts, smk.output.multiqc)
