"""What a run on the emulated AWS Batch moved, from the counting proxy's request log: per sample, per
rule (or job group), the reference per host, the workflow sources and BAM uploads. Used by
benchmarks/data_movement.py and by the engine tests, which check it against the run they made.

Every request is attributed to the Batch job that made it by the access key it is signed with
(moto_launch.py gives each job its own), or to the head job. A job's command names the Snakemake jobs
(rule and wildcards) it ran, hence the sample. Bytes are counted in three kinds:

* reference: GETs of the reference bundle (FASTA, .fai, .dict, aligner index), counted per host;
* sources: GETs of the workflow's source archive, which every Batch job deploys;
* data: everything else, counted per sample: a sample's own files (its CRAM and index, its VCFs) for
  that sample whatever job read them (the identity job reads every sample's CRAM), other files for the
  samples of the job that read them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aws_proxy import Request
from emulated_batch import JOB_KEY, BatchJob

from seqpipe.aws.layout import RUN_OUTDIR

REFERENCE_DIR = f"{RUN_OUTDIR}/reference/"
# not part of the bundle: the bundle's own manifest and the layout a run derives from the reference
# (the scatter's chunk BEDs, callable and non-PAR X regions, contig lengths, targets, identity panel sites)
NOT_BUNDLE = (
    "bundle.sha256",
    "chunks/",
    "callable.bed",
    "x_non_par.bed",
    "contigs.tsv",
    "targets.",
    "identity_sites.",
)
SOURCES = "snakemake-workflow-sources."


@dataclass
class Traffic:
    requests: int = 0
    down: int = 0
    up: int = 0
    jobs: set[str] = field(default_factory=set)

    def add(self, request: Request, job: str) -> None:
        self.requests += 1
        self.jobs.add(job)
        if request.method == "GET":
            self.down += request.bytes_out
        if request.method in ("PUT", "POST"):
            self.up += request.bytes_in


def key_of(request: Request) -> str:
    return request.path.lstrip("/").split("/", 1)[-1]


def sample_of(wildcards: Mapping[str, str], samples: Iterable[str]) -> str | None:
    """The sample a Snakemake job works on, if it works on one."""
    if "sample" in wildcards:
        return wildcards["sample"]
    if wildcards.get("scope") == "sample":
        return wildcards.get("name")
    prefix = wildcards.get("prefix", "")  # compute_variant_stats: <sample>.<caller>
    return next((s for s in samples if prefix.startswith(f"{s}.")), None)


def owner_of(key: str, samples: Iterable[str]) -> str | None:
    """The sample whose file the object is (<sample>.cram, <sample>.<caller>.vcf.gz, ...), if any."""
    name = key.rsplit("/", 1)[-1]
    return next((s for s in samples if name.startswith(f"{s}.")), None)


def label_of(job: BatchJob) -> str:
    """A rule, or the rules of a job group joined with +."""
    return "+".join(job.rules) if job.rules else job.name


@dataclass
class Report:
    batch_jobs: int
    workflow: str = ""
    wall_s: float = 0.0
    samples: dict[str, dict] = field(default_factory=dict)
    reference_per_host: dict[str, dict] = field(default_factory=dict)
    rules: dict[str, dict] = field(default_factory=dict)
    bam_bytes_uploaded: int = 0
    bam_keys_left: list[str] = field(default_factory=list)
    head: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)


def in_bundle(key: str, run_key: str) -> bool:
    """A file of the reference bundle (FASTA, .fai, .dict, aligner index)."""
    prefix = f"{run_key}/{REFERENCE_DIR}"
    return key.startswith(prefix) and not key[len(prefix) :].startswith(NOT_BUNDLE)


def analyse(
    log: Iterable[Request],
    jobs: Iterable[BatchJob],
    keys: Mapping[str, int],
    fastq_bytes: Mapping[str, int],
    run_key: str,
) -> Report:
    """``keys``: key -> size of the run's objects at the end; ``fastq_bytes``: sample -> FASTQ bytes."""
    by_id = {job.job_id: job for job in jobs}
    bundle = sum(size for key, size in keys.items() if in_bundle(key, run_key))
    per_sample: dict[str, Traffic] = defaultdict(Traffic)
    per_rule: dict[str, Traffic] = defaultdict(Traffic)
    reference: dict[str, int] = defaultdict(int)
    sources, head = Traffic(), Traffic()
    report = Report(len(by_id))
    for request in log:
        if request.service != "s3":
            continue
        key = key_of(request)
        if request.method in ("PUT", "POST") and key.endswith((".bam", ".bai")):
            report.bam_bytes_uploaded += request.bytes_in
        match = JOB_KEY.match(request.access_key)
        job = by_id.get(match.group("job")) if match else None
        if job is None:
            head.add(request, "head")
            continue
        per_rule[label_of(job)].add(request, job.job_id)
        if request.method != "GET":
            kind = "data"
        elif in_bundle(key, run_key):
            kind = "reference"
        else:
            kind = "sources" if key.startswith(f"{run_key}/{SOURCES}") else "data"
        if kind == "reference":
            reference[f"host-{match.group('host')}"] += request.bytes_out
        elif kind == "sources":
            sources.add(request, job.job_id)
        else:
            owner = owner_of(key, fastq_bytes)
            samples = {owner} if owner else {sample_of(wc, fastq_bytes) for _, wc in job.targets} - {None}
            for sample in samples:
                per_sample[sample].add(request, job.job_id)
    for sample, traffic in sorted(per_sample.items()):
        cram = keys.get(f"{run_key}/{RUN_OUTDIR}/cram/{sample}.cram", 0)
        moved = fastq_bytes[sample] + cram
        report.samples[sample] = {
            "downloaded": traffic.down,
            "fastq": fastq_bytes[sample],
            "cram": cram,
            "ratio": round(traffic.down / moved, 3),
            "jobs": len(traffic.jobs),
        }
    for host, size in sorted(reference.items()):
        report.reference_per_host[host] = {"bytes": size, "bundles": round(size / bundle, 2)}
    for rule, traffic in sorted(per_rule.items()):
        report.rules[rule] = {
            "jobs": len(traffic.jobs),
            "requests_per_job": round(traffic.requests / len(traffic.jobs), 1),
            "downloaded": traffic.down,
            "uploaded": traffic.up,
        }
    report.bam_keys_left = sorted(k for k in keys if k.endswith((".bam", ".bai")))
    report.head = {"requests": head.requests, "downloaded": head.down, "uploaded": head.up}
    report.sources = {"jobs": len(sources.jobs), "downloaded": sources.down}
    return report
