#!/usr/bin/env bash
# Set up this machine and run the pipeline end to end on the bundled demo data:
# generate the seeded demo genome and reads (once), run the workflow, print where the results are.
set -euo pipefail
cd "$(dirname "$0")/.."
SEQPIPE_SKIP_INFRA=1 bash scripts/setup.sh
source .venv/bin/activate

if [[ ! -f demo/data/manifest.json ]]; then
    seqpipe simulate --outdir demo/data
fi
# the local engine's command (profiles/local: all cores unless CORES is set, memory capped)
seqpipe run --configfile config/config.yaml ${CORES:+--cores "$CORES"} -- "$@"

cat <<MSG

Done. Results are in results/:
  MultiQC report   results/qc/multiqc_report.html
  QC verdicts      results/qc/qc_summary.tsv
  VCFs             $(ls results/vcf/*.vcf.gz | tr '\n' ' ')
  CRAMs            results/cram/
  Run manifest     results/manifest/run_manifest.json
Accuracy of a VCF against the demo truth:
  seqpipe accuracy --truth demo/data/truth/S1.vcf.gz --query results/vcf/S1.bcftools.vcf.gz \\
      --reference demo/data/reference/genome.fa --strata-dir demo/data/strata
MSG
