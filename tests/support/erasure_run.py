"""A run recorded through the data plane's own code paths, with every file the real workflow writes
laid out the way Snakemake's S3 storage lays it out, for the erasure tests.

- raw uploads go through the validation handler's step (seqpipe.aws.ingest.ingest_object): the
  samples' reads under `<project>/<run>/<sample>/`, a VCF of A (then normalized by the VCF
  processor's step into processed `vcf/`), instrument-named FASTQs outside the layout (filed as
  `unassigned`) and a run folder file (filed under the run);
- the run is recorded, marked RUNNING, its QC collected and finalized with delivery, as the
  metadata-updater and quality-metrics Lambdas do;
- its outputs are the paths of a dry run of the workflow (workflow_layout.py) under
  `runs/<run>/results/` (the intermediates also under `work/<run>/results/`); joint VCFs and BCFs carry
  a real header with their group's samples, the QC summary is written by the pipeline's own step.
Buckets are versioned and A's reads are uploaded twice (two versions).
"""

from __future__ import annotations

import gzip
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflow_layout import GROUPS, OUTDIR, WorkflowFile

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "dataplane" / "data"
sys.path.insert(0, str(REPO / "tests" / "dataplane" / "support"))
from pipeline_qc import write_qc  # noqa: E402

from seqpipe.aws import qc, runs  # noqa: E402
from seqpipe.aws.ingest import ObjectVersion, ingest_object  # noqa: E402
from seqpipe.aws.layout import run_output_uri, run_outputs_key, run_work_key  # noqa: E402
from seqpipe.aws.repositories import Repositories  # noqa: E402
from seqpipe.aws.settings import Settings  # noqa: E402
from seqpipe.aws.transitions import JobStatus  # noqa: E402
from seqpipe.aws.variants import process_vcf  # noqa: E402
from seqpipe.storage.s3 import S3Uri  # noqa: E402

RUN, PROJECT = "RUN_L", "P1"
SAMPLES = [s for members in GROUPS.values() for s in members]
UNASSIGNED_KEYS = {
    "A": "incoming/A_S1_L001_R1_001.fastq.gz",
    "B": "incoming/B_S2_L001_R1_001.fastq.gz",
    "AB": "incoming/AB_S3_L001_R1_001.fastq.gz",  # a sample whose id starts with A's
}
RUN_FOLDER_KEY = f"{PROJECT}/{RUN}/240101_M00001_0001_000000000-ABCDE/RunInfo.xml"


@dataclass
class RecordedRun:
    settings: Settings
    files: list[WorkflowFile]
    raw_keys: dict[str, list[str]] = field(default_factory=dict)  # sample → its raw keys

    @property
    def outputs(self) -> str:
        return run_outputs_key(RUN)

    @property
    def work(self) -> str:
        return run_work_key(RUN)


def _vcf(samples: list[str], binary: bool, tmp: Path) -> bytes:
    """A real bgzipped VCF (or BCF) with NA12891's records and one genotype column per sample."""
    import pysam

    lines = gzip.decompress((DATA / "NA12891.vcf.gz").read_bytes()).decode().splitlines()
    text = []
    for line in lines:
        fields = line.split("\t")
        if line.startswith("##"):
            text.append(line)
        elif line.startswith("#CHROM"):
            text.append("\t".join(fields[:9] + samples))
        else:
            text.append("\t".join(fields[:9] + fields[9:10] * len(samples)))
    plain = tmp / "joint.vcf"
    plain.write_text("\n".join(text) + "\n")
    target = tmp / ("joint.bcf" if binary else "joint.vcf.gz")
    pysam.bcftools.view("-O", "b" if binary else "z", "-o", str(target), str(plain), catch_stdout=False)
    return target.read_bytes()


def _body(file: WorkflowFile, tmp: Path) -> bytes:
    name = file.path.rsplit("/", 1)[-1]
    if file.group and name.endswith((".vcf.gz", ".bcf")):
        return _vcf(GROUPS[file.group], name.endswith(".bcf"), tmp)
    return f"{file.path} of {file.sample or file.group or 'the run'}\n".encode()


def record_run(aws: Any, settings: Settings, files: list[WorkflowFile]) -> RecordedRun:
    s3 = aws("s3")
    for bucket in (settings.raw_bucket, settings.processed_bucket, settings.delivery_bucket):
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    repos = Repositories.from_settings(settings)
    run = RecordedRun(settings, files)

    def upload(key: str, body: bytes) -> None:
        put = s3.put_object(Bucket=settings.raw_bucket, Key=key, Body=body)
        ingest_object(repos, ObjectVersion(settings.raw_bucket, key, put["ETag"].strip('"'), len(body)))

    reads = (DATA / "reads_R1.fastq.gz").read_bytes()
    for sample in SAMPLES:
        key = f"{PROJECT}/{RUN}/{sample}/{sample}_R1.fastq.gz"
        upload(key, reads)
        run.raw_keys[sample] = [key]
    upload(run.raw_keys["A"][0], reads)  # a second version
    vcf = f"{PROJECT}/{RUN}/A/A.vcf.gz"
    upload(vcf, (DATA / "NA12891.vcf.gz").read_bytes())
    run.raw_keys["A"].append(vcf)
    process_vcf(S3Uri(settings.raw_bucket, vcf), settings.processed_bucket)
    for sample, key in UNASSIGNED_KEYS.items():
        upload(key, reads)
        run.raw_keys.setdefault(sample, []).append(key)
    put = s3.put_object(Bucket=settings.raw_bucket, Key=RUN_FOLDER_KEY, Body=b"<RunInfo/>")
    ingest_object(repos, ObjectVersion(settings.raw_bucket, RUN_FOLDER_KEY, put["ETag"].strip('"'), 10))

    inputs = [str(S3Uri(settings.raw_bucket, run.raw_keys[s][0])) for s in SAMPLES]
    runs.record_run(repos, RUN, PROJECT, SAMPLES, inputs=inputs)
    runs.transition(repos, RUN, JobStatus.RUNNING)
    with tempfile.TemporaryDirectory() as tmp:
        write_qc(Path(tmp) / OUTDIR, SAMPLES, set(), {"mean_depth": {"min": 10}, "mapped_pct": {"min": 90}})
        for file in files:
            local = Path(tmp) / file.path
            body = local.read_bytes() if local.is_file() else _body(file, Path(tmp))
            s3.put_object(Bucket=settings.processed_bucket, Key=f"{run.outputs}/{file.path}", Body=body)
            if file.temp:
                s3.put_object(Bucket=settings.processed_bucket, Key=f"{run.work}/{file.path}", Body=body)
    output_uri = run_output_uri(settings.processed_bucket, RUN)  # runs/<run>/results: OUTDIR under the run
    qc.collect_run(repos.quality, RUN, PROJECT, SAMPLES, output_uri)
    runs.finalize(repos, RUN, output_uri, SAMPLES, settings.delivery_bucket)
    return run


def stored_keys(s3: Any, bucket: str, prefix: str = "") -> set[str]:
    """Keys with any version or delete marker left."""
    keys: set[str] = set()
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        keys |= {v["Key"] for v in page.get("Versions", []) + page.get("DeleteMarkers", [])}
    return keys
