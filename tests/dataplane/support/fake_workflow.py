"""Stands in for the Snakemake head job in state-machine tests (run by moto's local Batch executor).

Writes what the pipeline writes for each sample into SEQPIPE_OUTPUT_URI: its QC reports and the run's
QC summary (pipeline_qc.py, with the thresholds of the config at SEQPIPE_CONFIG_URI), a CRAM with
index and a VCF with index (copied from tests/dataplane/data).
Env: SAMPLES (comma-separated), LOW_DEPTH_SAMPLES (get a mean depth of 5), FAIL_ONCE_FLAG (a path:
the first attempt creates it and exits 1, like a reclaimed Spot instance), EXIT_CODE (always fail).
"""

import os
import sys
import tempfile
from pathlib import Path

import boto3
import yaml
from pipeline_qc import DATA, write_qc

if os.environ.get("EXIT_CODE"):
    sys.exit(int(os.environ["EXIT_CODE"]))
flag = os.environ.get("FAIL_ONCE_FLAG")
if flag and not os.path.exists(flag):
    Path(flag).touch()
    print("first attempt: simulated host failure", file=sys.stderr)
    sys.exit(1)

bucket, _, prefix = os.environ["SEQPIPE_OUTPUT_URI"][len("s3://") :].partition("/")
config_bucket, _, config_key = os.environ["SEQPIPE_CONFIG_URI"][len("s3://") :].partition("/")
samples = os.environ["SAMPLES"].split(",")
low_depth = set(os.environ.get("LOW_DEPTH_SAMPLES", "").split(","))
s3 = boto3.client("s3")
config = yaml.safe_load(s3.get_object(Bucket=config_bucket, Key=config_key)["Body"].read()) or {}
with tempfile.TemporaryDirectory() as outdir:
    write_qc(Path(outdir), samples, low_depth, (config.get("qc") or {}).get("thresholds") or {})
    for path in sorted(Path(outdir).rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(outdir)}")
for sample in samples:
    s3.upload_file(str(DATA / "ok.cram"), bucket, f"{prefix}/cram/{sample}.cram")
    s3.upload_file(str(DATA / "NA12891.vcf.gz"), bucket, f"{prefix}/vcf/{sample}.bcftools.vcf.gz")
