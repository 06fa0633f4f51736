"""Stands in for the Snakemake head job in state-machine tests (run by moto's local Batch executor).

Writes what the pipeline writes for each sample into SEQPIPE_OUTPUT_URI: its QC reports and the run's
QC summary (pipeline_qc.py, with the thresholds of the config at SEQPIPE_CONFIG_URI), a CRAM with
index and a VCF with index (copied from tests/dataplane/data).
Env: SAMPLES (comma-separated), LOW_DEPTH_SAMPLES (get a mean depth of 5); before that, in order:
TASK_JOBS (submit that many task jobs to SNAKEMAKE_AWS_BATCH_JOB_QUEUE the way the aws-batch executor
does: a job definition per job whose environment carries the run id; each runs until terminated,
writing its pid into TASK_PID_DIR), FAIL_ONCE_FLAG (a path: the first attempt creates it and dies by
SIGKILL, as on a lost host), EXIT_CODE (exit with it: the pipeline failed), SLEEP_SECONDS (run that
long first), WAIT_FOR (a path: run until it exists).
"""

import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import yaml
from pipeline_qc import DATA, write_qc

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from batch_jobs import submit_job_of_run

# A task job: runs until terminated, its pid in the directory given as argument (file named by job id).
TASK = """
import os, pathlib, sys, time
pathlib.Path(sys.argv[1], os.environ["AWS_BATCH_JOB_ID"]).write_text(str(os.getpid()))
time.sleep(600)
"""

tasks = int(os.environ.get("TASK_JOBS", "0"))
for _ in range(tasks):
    submit_job_of_run(
        boto3.client("batch"),
        os.environ["SNAKEMAKE_AWS_BATCH_JOB_QUEUE"],
        os.environ["SEQPIPE_RUN_ID"],
        f"map_reads-{uuid.uuid4()}",
        [sys.executable, "-c", TASK, os.environ["TASK_PID_DIR"]],
    )
while tasks and len(list(Path(os.environ["TASK_PID_DIR"]).iterdir())) < tasks:  # until they all run
    time.sleep(0.2)
flag = os.environ.get("FAIL_ONCE_FLAG")
if flag and not os.path.exists(flag):
    Path(flag).touch()
    print("first attempt: the host goes away", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
if os.environ.get("EXIT_CODE"):
    sys.exit(int(os.environ["EXIT_CODE"]))
time.sleep(float(os.environ.get("SLEEP_SECONDS", "0")))
while os.environ.get("WAIT_FOR") and not os.path.exists(os.environ["WAIT_FOR"]):
    time.sleep(0.2)

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
