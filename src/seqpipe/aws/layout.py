"""Where the data plane keeps things in its buckets: every S3 key layout, spelled once.

    processed   runs/<run_id>/…                        a run's storage prefix: Snakemake's default storage
                                                       prefix (the run's relative inputs, workflow sources)
                runs/<run_id>/results/…                a run's outputs (the workflow's outdir, results)
                runs/<run_id>/results/qc/multiqc_report.html   its MultiQC report
                work/<run_id>/…                        a run's intermediates (expire)
                vcf/<raw key>.norm.vcf.gz              the VCF processor's copy of a raw VCF
    delivery    <run_id>/<sample>/<file>               the delivered copies
                <run_id>/manifest.json                 what was delivered, with checksums
    raw         <project>/<run_id>/<sample>/<file>     uploads (seqpipe.aws.ingest.place_of reads it)

The state machine, the head job, the read model, delivery, erasure, the demo content and the CDK
stacks (the prefixes their policies and lifecycle rules name) take these from here.
"""

from __future__ import annotations

RUNS_PREFIX = "runs/"
# The outdir of every run on AWS: the head job gives it to the workflow (seqpipe.execution.head_job), so
# a run's outputs are at run_output_uri, where CollectQC, delivery and the read model look for them.
RUN_OUTDIR = "results"
WORK_PREFIX = "work/"
PROCESSED_VCF_PREFIX = "vcf/"
REPORT_PATH = "qc/multiqc_report.html"
MANIFEST_NAME = "manifest.json"


def run_outputs_key(run_id: str) -> str:
    """The key prefix of a run's outputs in the processed bucket: ``runs/<run_id>`` (no slash)."""
    return f"{RUNS_PREFIX}{run_id}"


def run_work_key(run_id: str) -> str:
    """The key prefix of a run's intermediates in the processed bucket: ``work/<run_id>`` (no slash)."""
    return f"{WORK_PREFIX}{run_id}"


def processed_vcf_outputs(raw_key: str) -> list[str]:
    """The keys the VCF processor writes for the raw VCF ``raw_key``: its normalized copy, the copy's
    index and its summary."""
    stem = raw_key
    for suffix in (".vcf.gz", ".vcf.bgz", ".vcf", ".bcf"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    vcf = f"{PROCESSED_VCF_PREFIX}{stem}.norm.vcf.gz"
    return [vcf, f"{vcf}.tbi", f"{vcf}.summary.json"]


def run_output_uri(bucket: str, run_id: str) -> str:
    """Where a run's outputs live: ``s3://<processed bucket>/runs/<run_id>/results``."""
    # Both are one path segment: a slash would put the run's outputs inside another run's.
    if not bucket or "/" in bucket or not run_id or "/" in run_id:
        raise ValueError(f"bucket and run_id must be single path segments, got {bucket!r}, {run_id!r}")
    return f"s3://{bucket}/{run_outputs_key(run_id)}/{RUN_OUTDIR}"


def storage_of(output_uri: str) -> tuple[str, str]:
    """(Snakemake's default storage prefix, outdir) that put a run's outputs at ``output_uri``: its
    parent and its last segment (``s3://b/runs/r1``, ``results`` for ``s3://b/runs/r1/results``)."""
    prefix, _, outdir = output_uri.rstrip("/").rpartition("/")
    if not prefix.startswith("s3://") or "/" not in prefix.removeprefix("s3://") or not outdir:
        raise ValueError(f"an output URI is s3://bucket/prefix/outdir, got {output_uri!r}")
    return prefix, outdir


def report_under(output: str) -> str:
    """The MultiQC report of a run whose outputs are at ``output`` (an s3:// URI or a local path)."""
    return f"{output.rstrip('/')}/{REPORT_PATH}"


def delivered_prefix(run_id: str, sample: str) -> str:
    """The key prefix of a sample's delivered copies in the delivery bucket."""
    return f"{run_id}/{sample}/"


def manifest_key(run_id: str) -> str:
    """The key of a run's delivery manifest in the delivery bucket."""
    return f"{run_id}/{MANIFEST_NAME}"


def raw_sample_prefix(project: str, run_id: str, sample: str) -> str:
    """The key prefix of a sample's uploads for a run in the raw bucket."""
    return f"{project}/{run_id}/{sample}/"
