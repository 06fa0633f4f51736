"""What a run on AWS Batch moves: the demo with S3 storage, every job a Batch job in an empty working
directory, against the local endpoint, counted by the proxy in front of it.

The head job (seqpipe-head-job, as the state machine starts it) runs the workflow of --workflow (this
checkout, or another one such as the main branch for a before/after comparison) with its own package.
The endpoint (tests/support/moto_launch.py) runs every Batch job as a local process on one of
--hosts emulated compute hosts; each job signs its requests with its own access key, so the proxy's
request log (tests/support/aws_proxy.py) attributes every byte to a job, and each job's command names
the Snakemake jobs (rule and wildcards) it ran. Printed:

* per sample: bytes the sample's jobs downloaded, apart from the reference and the workflow's
  sources, over the bytes of its FASTQs and its CRAM (target <= 1.5);
* reference: bytes of the reference bundle downloaded per host, as a number of whole bundles
  (target <= 1 per host);
* per rule (or job group): jobs, S3 requests per job, bytes downloaded and uploaded;
* alignment BAMs: bytes uploaded to keys ending in .bam or .bai, and such keys left (target 0).

The run's outputs go to seqpipe.aws.layout.run_output_uri (runs/<id>/results), its data below the
head job's storage prefix (runs/<id>). A checkout whose head job took SEQPIPE_OUTPUT_URI as its storage
prefix (before the layout named the outdir) is given runs/<id> with --output-uri-is-storage-prefix:
its outputs then land in the same place (its run config's outdir is results).

    .venv/bin/python benchmarks/data_movement.py [--workflow /work/main] [--data DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "support"))
from emulated_batch import (  # noqa: E402
    as_workflow_checkout,
    batch_jobs,
    create_batch_queue,
    emulated_batch,
    head_job_environment,
    upload_tree,
)
from movement import Report, analyse  # noqa: E402
from run_directory import make_run_dir  # noqa: E402

from seqpipe.aws.layout import run_output_uri, storage_of  # noqa: E402
from seqpipe.execution.command import workflow_environment  # noqa: E402
from seqpipe.tsv import read_tsv  # noqa: E402

VENV_BIN = Path(sys.executable).parent
BUCKET = "seqpipe-bench-processed"
RUN_ID = "movement"
TIMEOUT_S = 3600
# the demo settings of config/config.yaml, with the demo's known sites as the identity site panel:
# identity is then genotyped from the calling slices, and no CRAM is read again
CONFIG = {"identity": {"sites": "data/known_sites/known_sites.vcf.gz"}}
TARGET_RATIO = 1.5


def fastq_bytes_per_sample(data: Path) -> dict[str, int]:
    _, rows = read_tsv(data / "units.tsv", ("fq1", "fq2"))
    sizes: dict[str, int] = defaultdict(int)
    for _, row in rows:
        for column in ("fq1", "fq2"):
            sizes[row["sample"]] += (data / "reads" / Path(row[column]).name).stat().st_size
    return dict(sizes)


def run(workflow: Path, data: Path, workdir: Path, hosts: int, output_is_prefix: bool = False) -> Report:
    run_dir = make_run_dir(workdir / "run", data, workflow, CONFIG)
    as_workflow_checkout(run_dir)
    # the head job and every Batch job import the package of the workflow they run
    package = {"PYTHONPATH": str(workflow / "src")}
    with emulated_batch(workdir, hosts, package) as endpoint:
        env = workflow_environment(dict(os.environ, **endpoint.environment(), **package))
        session = boto3.session.Session(**_credentials(env))
        s3, batch, iam = (session.client(s, endpoint_url=endpoint.endpoint) for s in ("s3", "batch", "iam"))
        s3.create_bucket(Bucket=BUCKET)
        output_uri = run_output_uri(BUCKET, RUN_ID)
        storage_prefix = storage_of(output_uri)[0]
        run_key = storage_prefix.removeprefix(f"s3://{BUCKET}/")
        upload_tree(s3, run_dir / "data", BUCKET, run_key)
        s3.upload_file(str(run_dir / "run.yaml"), BUCKET, f"configs/{RUN_ID}.yaml")
        queue = create_batch_queue(iam, batch)
        endpoint.proxy.reset()
        env.update(
            head_job_environment(
                queue,
                RUN_ID,
                f"s3://{BUCKET}/configs/{RUN_ID}.yaml",
                storage_prefix if output_is_prefix else output_uri,
                run_dir,
                TIMEOUT_S,
            )
        )
        started = time.monotonic()
        done = subprocess.run(
            ["timeout", "--kill-after=30", str(TIMEOUT_S), str(VENV_BIN / "seqpipe-head-job")],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wall = time.monotonic() - started
        (workdir / "head-job.log").write_text(done.stdout)
        if done.returncode != 0:
            sys.exit(f"the head job failed (see {workdir / 'head-job.log'}):\n{done.stdout[-4000:]}")
        log = endpoint.proxy.requests()
        jobs = batch_jobs(batch, queue.queue_arn)
        keys = {
            obj["Key"]: obj["Size"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=run_key + "/")
            for obj in page.get("Contents", [])
        }
    report = analyse(log, jobs, keys, fastq_bytes_per_sample(data), run_key)
    report.workflow, report.wall_s = str(workflow), round(wall, 1)
    return report


def _credentials(env: Mapping[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        "region_name": env["AWS_DEFAULT_REGION"],
    }


def print_report(report: Report) -> None:
    mb = 1e6
    print(f"workflow {report.workflow}: {report.batch_jobs} Batch jobs, head job wall {report.wall_s} s")
    print(f"\n{'sample':8} {'downloaded MB':>14} {'FASTQ MB':>9} {'CRAM MB':>8} {'ratio':>6} (target <= 1.5)")
    for sample, s in report.samples.items():
        print(
            f"{sample:8} {s['downloaded'] / mb:14.2f} {s['fastq'] / mb:9.2f} {s['cram'] / mb:8.2f} "
            f"{s['ratio']:6.2f}{'' if s['ratio'] <= TARGET_RATIO else '  over target'}"
        )
    print(f"\n{'host':8} {'reference MB':>13} {'bundles':>8} (target <= 1 per host)")
    for host, r in report.reference_per_host.items():
        print(f"{host:8} {r['bytes'] / mb:13.2f} {r['bundles']:8.2f}")
    print(f"\n{'rule or job group':60} {'jobs':>5} {'req/job':>8} {'down MB':>9} {'up MB':>8}")
    for rule, r in report.rules.items():
        print(
            f"{rule[:60]:60} {r['jobs']:5d} {r['requests_per_job']:8.1f} "
            f"{r['downloaded'] / mb:9.2f} {r['uploaded'] / mb:8.2f}"
        )
    h = report.head
    head = f"{h['requests']:8d} {h['downloaded'] / mb:9.2f} {h['uploaded'] / mb:8.2f}"
    print(f"{'(head job)':60} {1:5d} {head}")
    sources = report.sources
    print(
        f"\nworkflow sources deployed by {sources['jobs']} jobs: {sources['downloaded'] / mb:.2f} MB "
        "(not counted for the samples)"
    )
    print(
        f"\nBAM/BAI bytes uploaded to S3: {report.bam_bytes_uploaded} (target 0); "
        f"BAM/BAI keys left: {len(report.bam_keys_left)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workflow", type=Path, default=REPO, help="checkout whose workflow and package run")
    parser.add_argument("--data", type=Path, help="a `seqpipe simulate` data set (default: the demo)")
    parser.add_argument("--hosts", type=int, default=2, help="emulated compute hosts")
    parser.add_argument("--workdir", type=Path, help="keep the run here (default: a temporary directory)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--output-uri-is-storage-prefix",
        action="store_true",
        help="the checkout's head job takes SEQPIPE_OUTPUT_URI as its storage prefix (older checkouts)",
    )
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="seqpipe-movement-"))
    workdir.mkdir(parents=True, exist_ok=True)
    data = args.data
    if data is None:
        data = workdir / "data"
        subprocess.run([str(VENV_BIN / "seqpipe"), "simulate", "--outdir", str(data)], check=True)
    report = run(
        args.workflow.resolve(), data.resolve(), workdir, args.hosts, args.output_uri_is_storage_prefix
    )
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
