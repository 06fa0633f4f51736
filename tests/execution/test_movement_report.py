"""The data-movement benchmark counts right (tests/support/movement.py): known requests of known Batch
jobs land on the right sample, rule, host and kind, to the byte. The proxy's own tests show that what
it logs is what crossed the wire; the Batch engine test checks these figures against a real run."""

from __future__ import annotations

from aws_proxy import Request
from emulated_batch import BatchJob, targets_of
from movement import analyse

RUN = "runs/r1"
ALIGN = "0c6bd2b2-6f0e-4b0e-9d1c-6a77a46a6a01"
CALL = "f3e0bd1c-2a6d-4a8e-8d3b-5d2c5b0c9f12"


def request(key: str, method: str, caller: str, *, down: int = 0, up: int = 0) -> Request:
    operation = {"GET": "GetObject", "PUT": "PutObject"}[method]
    path = f"/bucket/{RUN}/{key}"
    return Request("s3", operation, method, path, 200, up, down, None, 0.0, 0.0, caller, "", "")


def test_a_known_run_is_counted_by_sample_rule_host_and_kind() -> None:
    command = (
        "python -m snakemake --target-jobs map_reads:sample=S1,unit=L1 mark_duplicates:sample=S1 --cores 16"
    )
    calling = (("call_bcftools", {"scope": "sample", "name": "S1", "chunk": "000"}),)
    jobs = [
        BatchJob(ALIGN, "snakejob-align_S1", "SUCCEEDED", targets_of(command)),
        BatchJob(CALL, "snakejob-call_bcftools", "SUCCEEDED", calling),
    ]
    align, call = f"batch-h0-{ALIGN}", f"batch-h1-{CALL}"
    log = [
        request("data/reads/S1_R1.fastq.gz", "GET", align, down=1000),
        request("results/reference/genome.fa", "GET", align, down=400),
        request("results/reference/bundle.sha256", "GET", align, down=7),
        request("snakemake-workflow-sources.abc.tar.xz", "GET", align, down=50),
        request("results/align/S1/L1.bam", "PUT", align, up=42),
        request("results/cram/S1.cram", "PUT", align, up=300),
        request("results/cram/S1.cram", "GET", call, down=120),
        request("results/reference/genome.fa", "GET", call, down=400),
        request("results/logs/x.log", "GET", "testing", down=10),
    ]
    keys = {
        f"{RUN}/data/reads/S1_R1.fastq.gz": 1000,
        f"{RUN}/results/cram/S1.cram": 300,
        f"{RUN}/results/reference/genome.fa": 400,
        f"{RUN}/results/reference/bundle.sha256": 7,
        f"{RUN}/results/reference/chunks/000.bed": 5,
    }

    report = analyse(log, jobs, keys, {"S1": 1000}, RUN)

    assert report.samples == {
        "S1": {"downloaded": 1000 + 7 + 120, "fastq": 1000, "cram": 300, "ratio": 0.867, "jobs": 2}
    }
    assert report.reference_per_host == {
        "host-0": {"bytes": 400, "bundles": 1.0},
        "host-1": {"bytes": 400, "bundles": 1.0},
    }
    assert report.rules["map_reads+mark_duplicates"] == {
        "jobs": 1,
        "requests_per_job": 6.0,
        "downloaded": 1457,
        "uploaded": 342,
    }
    assert report.rules["call_bcftools"]["downloaded"] == 520
    assert report.sources == {"jobs": 1, "downloaded": 50}
    assert report.bam_bytes_uploaded == 42 and report.bam_keys_left == []
    assert report.head == {"requests": 1, "downloaded": 10, "uploaded": 0}
    assert report.batch_jobs == 2


def test_a_job_that_reads_several_samples_crams_counts_each_for_its_sample() -> None:
    """The identity job has no sample among its wildcards and reads every sample's CRAM: each CRAM's
    bytes are its sample's, its other reads (the merged sites) no sample's."""
    identity = BatchJob(
        CALL, "snakejob-genotype_identity_sites", "SUCCEEDED", (("genotype_identity_sites", {}),)
    )
    job = f"batch-h0-{CALL}"
    log = [
        request("results/cram/S1.cram", "GET", job, down=120),
        request("results/cram/S1.cram.crai", "GET", job, down=3),
        request("results/cram/S2.cram", "GET", job, down=80),
        request("results/vcf/S2.bcftools.vcf.gz", "GET", job, down=9),
        request("results/qc/identity/sites.tsv.gz", "GET", job, down=5),
    ]
    keys = {f"{RUN}/results/cram/S1.cram": 300, f"{RUN}/results/cram/S2.cram": 200}

    report = analyse(log, [identity], keys, {"S1": 1000, "S2": 600}, RUN)

    assert {s: r["downloaded"] for s, r in report.samples.items()} == {"S1": 123, "S2": 89}
    assert report.rules["genotype_identity_sites"]["downloaded"] == 217
