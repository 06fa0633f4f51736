"""On AWS Batch with S3 storage the pipeline moves each byte once (docs/scaling.md). The head job runs
the demo run against the local endpoint, on two emulated compute hosts, every request through the
counting proxy; then:

* no alignment BAM is ever written to S3 (neither in the bucket's listing nor in the request log):
  a sample's units, duplicate marking, QC and checksums ran as one Batch job that read its FASTQs
  once and uploaded the CRAM;
* a chunk's callers run as one Batch job that reads the chunk's region of the CRAM in place, once, with
  htslib's ranged reads (never by downloading it), into a job-local slice both callers read;
* the reference bundle was fetched once per host, into each host's cache;
* CRAMs and VCFs are byte-identical to a local run of the same data;
* the data-movement benchmark's figures (tests/support/movement.py) agree with the run;
* a CRAM the calling job may not read fails the rule with its URL and S3's answer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from aws_proxy import FaultRule, Request
from emulated_batch import (
    JOB_KEY,
    BatchJob,
    EmulatedBatch,
    as_workflow_checkout,
    batch_jobs,
    create_batch_queue,
    emulated_batch,
    head_job_environment,
    upload_tree,
)
from engine_harness import PROCESSED_BUCKET, REPO, SAMPLE, UNITS, VENV_BIN, run_snakemake, run_venv_command
from movement import analyse, in_bundle
from run_directory import make_run_dir
from snakemake_executor_plugin_aws_batch.constant import VALID_RESOURCES_MAPPING

from seqpipe.aws.layout import run_output_uri, storage_of
from seqpipe.execution.command import snakemake_argv

pytestmark = [pytest.mark.e2e, pytest.mark.aws]

RUN_ID = "run-moves"
OUTPUT_URI = run_output_uri(PROCESSED_BUCKET, RUN_ID)
RUN_KEY = storage_of(OUTPUT_URI)[0].removeprefix(f"s3://{PROCESSED_BUCKET}/")
# two chunks, so that each calling job reads a region of the CRAM
CONFIG = {"calling": {"callers": ["bcftools", "freebayes"], "scatter": 2}}
COMPARED = [f"cram/{SAMPLE}.cram", f"cram/{SAMPLE}.cram.crai"] + [
    f"vcf/{SAMPLE}.{caller}.vcf.gz{ext}" for caller in ("bcftools", "freebayes") for ext in ("", ".tbi")
]
TIMEOUT = 1800


@dataclass
class BatchRun:
    endpoint: EmulatedBatch
    run_dir: Path
    env: dict[str, str]
    log: list[Request]
    jobs: list[BatchJob]
    keys: dict[str, int]  # key -> size at the end of the run

    def s3(self):
        return boto3.client("s3", endpoint_url=self.endpoint.endpoint, **_credentials())

    def job_of(self, request: Request) -> BatchJob | None:
        match = JOB_KEY.match(request.access_key)
        return next((j for j in self.jobs if match and j.job_id == match.group("job")), None)

    def gets(self, key: str) -> list[Request]:
        path = f"/{PROCESSED_BUCKET}/{RUN_KEY}/{key}"
        return [r for r in self.log if r.operation == "GetObject" and r.path == path]


def _credentials() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory):
    with emulated_batch(tmp_path_factory.mktemp("batch"), hosts=2) as running:
        yield running


@pytest.fixture(scope="module")
def batch_run(endpoint: EmulatedBatch, demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> BatchRun:
    run_dir = make_run_dir(tmp_path_factory.mktemp("batch-run") / "run", demo_data, REPO, CONFIG)
    as_workflow_checkout(run_dir)
    session = boto3.session.Session(**_credentials())
    s3, batch, iam = (session.client(s, endpoint_url=endpoint.endpoint) for s in ("s3", "batch", "iam"))
    s3.create_bucket(Bucket=PROCESSED_BUCKET)
    upload_tree(s3, run_dir / "data", PROCESSED_BUCKET, RUN_KEY)
    s3.upload_file(str(run_dir / "run.yaml"), PROCESSED_BUCKET, f"configs/{RUN_ID}.yaml")
    queue = create_batch_queue(iam, batch)
    config_uri = f"s3://{PROCESSED_BUCKET}/configs/{RUN_ID}.yaml"
    env = dict(
        os.environ,
        **endpoint.environment(),
        **head_job_environment(queue, RUN_ID, config_uri, OUTPUT_URI, run_dir, TIMEOUT),
    )
    endpoint.proxy.reset()

    run_venv_command([str(VENV_BIN / "seqpipe-head-job")], cwd=run_dir.parent, timeout=TIMEOUT, env=env)

    keys = {
        obj["Key"]: obj["Size"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=PROCESSED_BUCKET, Prefix=RUN_KEY)
        for obj in page.get("Contents", [])
    }
    return BatchRun(
        endpoint, run_dir, env, endpoint.proxy.requests(), batch_jobs(batch, queue.queue_arn), keys
    )


@pytest.fixture(scope="module")
def local_run(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = make_run_dir(tmp_path_factory.mktemp("local-run") / "run", demo_data, REPO, CONFIG)
    run_snakemake(
        snakemake_argv("local", profiles=REPO / "profiles", configfile="run.yaml"), cwd=run_dir, timeout=900
    )
    return run_dir


def test_no_alignment_bam_is_ever_written_to_s3(batch_run: BatchRun) -> None:
    assert f"{RUN_KEY}/results/cram/{SAMPLE}.cram" in batch_run.keys
    assert not [k for k in batch_run.keys if k.endswith((".bam", ".bai"))]
    writes = [
        r
        for r in batch_run.log
        if r.method in ("PUT", "POST") and r.path.split("?")[0].endswith((".bam", ".bai"))
    ]
    assert writes == [], writes


def test_a_sample_is_aligned_marked_and_checked_in_one_job_that_reads_its_fastqs_once(
    batch_run: BatchRun, demo_data: Path
) -> None:
    (align,) = [job for job in batch_run.jobs if "map_reads" in job.rules]
    assert sorted(rule for rule, _ in align.targets) == sorted(
        [
            *["run_fastqc", "map_reads"] * len(UNITS),
            "mark_duplicates",
            "compute_alignment_stats",
            "compute_coverage",
            "checksum_sample",
            "genotype_x_sites",
            "infer_sex",
        ]
    )
    for fastq in sorted((batch_run.run_dir / "data" / "reads").glob("*.fastq.gz")):
        served = batch_run.gets(f"data/reads/{fastq.name}")
        assert sum(r.bytes_out for r in served) == fastq.stat().st_size, fastq.name
        assert {batch_run.job_of(r) for r in served} == {align}
    crams = [r for r in batch_run.log if r.path.endswith(f"/cram/{SAMPLE}.cram") and r.method == "PUT"]
    assert crams and {batch_run.job_of(r) for r in crams} == {align}


def test_every_batch_job_asks_for_a_pair_the_executor_grants(batch_run: BatchRun) -> None:
    batch = boto3.client("batch", endpoint_url=batch_run.endpoint.endpoint, **_credentials())
    definitions = batch.describe_job_definitions()["jobDefinitions"]
    assert len(definitions) >= len(batch_run.jobs) > 0
    groups = 0
    for definition in definitions:
        request = {
            r["type"]: int(r["value"]) for r in definition["containerProperties"]["resourceRequirements"]
        }
        assert request["VCPU"] in VALID_RESOURCES_MAPPING[request["MEMORY"]], definition["jobDefinitionName"]
        groups += "align_" in definition["jobDefinitionName"]
    assert groups == 1


def test_each_chunk_reads_its_region_of_the_cram_once_for_both_callers(batch_run: BatchRun) -> None:
    cram = f"results/cram/{SAMPLE}.cram"
    chunks = [job for job in batch_run.jobs if "slice_calling_reads" in job.rules]
    assert len(chunks) == CONFIG["calling"]["scatter"]
    for job in chunks:
        assert sorted(job.rules) == ["call_bcftools", "call_freebayes", "slice_calling_reads"], job
        reads = [r for r in batch_run.gets(cram) if batch_run.job_of(r) == job]
        assert reads, f"{job.name} did not read the CRAM in place"
        seen = [(r.user_agent, r.range, r.bytes_out) for r in reads]
        assert all(r.user_agent.startswith("htslib") for r in reads), ("the CRAM was downloaded", job, seen)
        # one reader (the slice) opens the CRAM: one plain GET or one ranged GET per region it seeks to
        assert sum(r.bytes_out for r in reads) <= batch_run.keys[f"{RUN_KEY}/{cram}"] + 2**20, seen
    second_chunk = [j for j in chunks if dict(j.targets[0][1])["chunk"] == "001"]
    starts = [
        int(r.range.removeprefix("bytes=").split("-")[0])
        for job in second_chunk
        for r in batch_run.gets(cram)
        if batch_run.job_of(r) == job and r.range
    ]
    # the first chunk's slice reads from byte 0 with a plain GET, and hangs up once it has its region
    # (here the whole small CRAM); the second chunk's seeks to it with ranged GETs
    assert starts and min(starts) > 0, "the second chunk's reads start where its region does"
    readers = {batch_run.job_of(r) for r in batch_run.gets(cram)}
    assert readers == set(chunks), "only the chunks' slices read the CRAM: QC read it where it was written"
    slices = [k for k in batch_run.keys if k.startswith(f"{RUN_KEY}/results/calls/slices/")]
    assert slices == [], "the slices stay on the chunk's machine"


def test_the_reference_is_fetched_once_per_host(batch_run: BatchRun) -> None:
    bundle = {k: size for k, size in batch_run.keys.items() if in_bundle(k, RUN_KEY)}
    assert len(bundle) >= 8, bundle  # FASTA, .fai, .dict, 5 bwa index files
    for key, size in bundle.items():
        served = [r for r in batch_run.gets(key.removeprefix(f"{RUN_KEY}/"))]
        hosts = [JOB_KEY.match(r.access_key).group("host") for r in served if JOB_KEY.match(r.access_key)]
        assert sorted(hosts) == ["0", "1"], (key, hosts)
        assert sum(r.bytes_out for r in served) == 2 * size, key
    for host in batch_run.endpoint.hosts:
        (entry,) = [p for p in host.iterdir() if p.is_dir()]
        assert {p.name for p in entry.iterdir()} == {Path(k).name for k in bundle}


def test_crams_and_vcfs_are_byte_identical_to_the_local_run(batch_run: BatchRun, local_run: Path) -> None:
    s3 = batch_run.s3()
    for name in COMPARED:
        stored = s3.get_object(Bucket=PROCESSED_BUCKET, Key=f"{RUN_KEY}/results/{name}")["Body"].read()
        assert stored == (local_run / "results" / name).read_bytes(), name


def test_the_benchmark_counts_what_the_run_moved(batch_run: BatchRun, demo_data: Path) -> None:
    fastq = sum(p.stat().st_size for p in (demo_data / "reads").glob("*.fastq.gz"))
    report = analyse(batch_run.log, batch_run.jobs, batch_run.keys, {SAMPLE: fastq}, RUN_KEY)

    sample = report.samples[SAMPLE]
    cram = batch_run.keys[f"{RUN_KEY}/results/cram/{SAMPLE}.cram"]
    read_in_place = sum(r.bytes_out for r in batch_run.gets(f"results/cram/{SAMPLE}.cram"))
    assert sample["fastq"] == fastq and sample["cram"] == cram
    assert sample["downloaded"] >= fastq + read_in_place
    assert {host: r["bundles"] for host, r in report.reference_per_host.items()} == {
        "host-0": 1.0,
        "host-1": 1.0,
    }
    assert report.bam_bytes_uploaded == 0 and report.bam_keys_left == []
    assert sum(r["jobs"] for r in report.rules.values()) == report.batch_jobs == len(batch_run.jobs)


def test_a_cram_the_job_may_not_read_fails_the_rule_with_its_url_and_the_s3_error(
    batch_run: BatchRun,
) -> None:
    cram = f"/{PROCESSED_BUCKET}/{RUN_KEY}/results/cram/{SAMPLE}.cram"
    denied = FaultRule(
        service="s3", operation="HeadObject|GetObject", path=cram, access_key="batch-.*", status=403
    )
    moto_log = batch_run.endpoint.hosts[0].parent / "moto.log"
    logged = len(moto_log.read_text())
    batch_run.endpoint.proxy.inject(denied)
    argv = snakemake_argv(
        "aws-batch",
        configfile="run.yaml",
        storage_prefix=f"s3://{PROCESSED_BUCKET}/{RUN_KEY}",
        extra=["--forcerun", "slice_calling_reads", "--until", "slice_calling_reads", "--retries", "0"],
    )
    try:
        run = run_snakemake(argv, cwd=batch_run.run_dir, timeout=TIMEOUT, env=batch_run.env, check=False)
    finally:
        batch_run.endpoint.proxy.inject()

    assert not run.ok
    # what a failed Batch job's log holds (CloudWatch on AWS; the endpoint's log here)
    failures = moto_log.read_text()[logged:]
    url = f"s3://{PROCESSED_BUCKET}/{RUN_KEY}/results/cram/{SAMPLE}.cram"
    assert "[moto-batch] job snakejob-call_sample_" in failures, failures[-3000:]
    assert url in failures and "403" in failures, failures[-3000:]
