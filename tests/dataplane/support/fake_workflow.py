"""Stands in for the Snakemake head job in state-machine tests (run by moto's local Batch executor).

Writes what the pipeline writes for each sample into SEQPIPE_OUTPUT_URI: MultiQC general stats,
bcftools stats, a CRAM with index and a VCF with index (copied from tests/dataplane/data).
Env: SAMPLES (comma-separated), LOW_DEPTH_SAMPLES (get a mean depth of 5), FAIL_ONCE_FLAG (a path:
the first attempt creates it and exits 1, like a reclaimed Spot instance), EXIT_CODE (always fail).
"""

import os
import sys
from pathlib import Path

import boto3

DATA = Path(__file__).resolve().parents[1] / "data"

if os.environ.get("EXIT_CODE"):
    sys.exit(int(os.environ["EXIT_CODE"]))
flag = os.environ.get("FAIL_ONCE_FLAG")
if flag and not os.path.exists(flag):
    Path(flag).touch()
    print("first attempt: simulated host failure", file=sys.stderr)
    sys.exit(1)

bucket, _, prefix = os.environ["SEQPIPE_OUTPUT_URI"][len("s3://") :].partition("/")
samples = os.environ["SAMPLES"].split(",")
low_depth = set(os.environ.get("LOW_DEPTH_SAMPLES", "").split(","))
s3 = boto3.client("s3")
template = (DATA / "multiqc_general_stats.txt").read_text().splitlines()
header, row = template[0], template[1].split("\t")
columns = header.split("\t")
rows = [header]
for sample in samples:
    values = [sample, *row[1:]]
    if sample in low_depth:
        values[columns.index("mosdepth-mean_coverage")] = "5.0"
    rows.append("\t".join(values))
s3.put_object(
    Bucket=bucket,
    Key=f"{prefix}/qc/multiqc_data/multiqc_general_stats.txt",
    Body=("\n".join(rows) + "\n").encode(),
)
for sample in samples:
    s3.upload_file(
        str(DATA / "NA12878.bcftools.stats"), bucket, f"{prefix}/qc/bcftools/{sample}.bcftools.stats"
    )
    s3.upload_file(str(DATA / "ok.cram"), bucket, f"{prefix}/cram/{sample}.cram")
    s3.upload_file(str(DATA / "NA12891.vcf.gz"), bucket, f"{prefix}/vcf/{sample}.bcftools.vcf.gz")
