"""The unchanged workflow with S3 as its default storage (local execution), against the local
AWS endpoint: inputs are read from and results written to the processed bucket's run prefix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from emulated_batch import upload_tree
from engine_harness import PROCESSED_BUCKET, REPO, final_outputs, run_snakemake, s3_keys

from seqpipe.aws.layout import run_output_uri, storage_of
from seqpipe.execution.command import snakemake_argv

pytestmark = [pytest.mark.e2e, pytest.mark.aws]


def test_pipeline_on_s3_lands_in_processed_layout_and_second_run_does_nothing(
    aws: Callable, run_dir: Path
) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket=PROCESSED_BUCKET)
    prefix, outdir = storage_of(run_output_uri(PROCESSED_BUCKET, "run-s3"))
    run_key = prefix.removeprefix(f"s3://{PROCESSED_BUCKET}/")
    upload_tree(s3, run_dir / "data", PROCESSED_BUCKET, run_key)
    argv = snakemake_argv("s3", profiles=REPO / "profiles", configfile="run.yaml", storage_prefix=prefix)

    run_snakemake(argv, cwd=run_dir, timeout=600)

    keys = s3_keys(s3, PROCESSED_BUCKET, run_key + "/")
    missing = [f for f in final_outputs(outdir) if f"{run_key}/{f}" not in keys]
    assert not missing, f"not in s3://{PROCESSED_BUCKET}/{run_key}/: {missing}"
    assert f"{run_key}/{outdir}/manifest/run_manifest.json" in keys
    assert not any("/align/" in key and key.endswith(".bam") for key in keys), "temp() BAMs left in S3"
    assert not any((run_dir / f).exists() for f in final_outputs()), "results kept locally, not in S3"

    again = run_snakemake(argv, cwd=run_dir, timeout=300)

    assert "Nothing to be done" in again.log, again.log[-3000:]
    assert s3_keys(s3, PROCESSED_BUCKET, run_key + "/") == keys, "the second run rewrote objects"
