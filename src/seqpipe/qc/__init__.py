"""QC computed once, by the pipeline: metrics from the tools' reports, verdicts against the configured
thresholds, and the run's summary (qc_summary.tsv, its MultiQC table and qc_summary.json).

The data plane and the CLI record the summary as it is (seqpipe.aws.qc); nothing recomputes it.
"""
