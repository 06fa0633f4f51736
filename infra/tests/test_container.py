"""The pipeline image's Dockerfile (linted; it cannot be built here) and its head-job entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "docker" / "Dockerfile"
HEAD_JOB = REPO / "docker" / "head-job.py"


def test_dockerfile_passes_hadolint():
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run([str(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_installs_pinned_packages_and_can_deploy_the_storage_plugin_offline():
    text = DOCKERFILE.read_text()
    assert '-c requirements/constraints.txt ".[pipeline,lambda,web]"' in text  # web: the dashboard
    assert "PIP_NO_INDEX=1" in text and "PIP_FIND_LINKS=/opt/wheels" in text
    assert "COPY docker/head-job.py /usr/local/bin/seqpipe-head-job" in text
    assert "USER 10001" in text


def test_head_job_refuses_to_start_without_its_run_environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQPIPE_")}
    result = subprocess.run([sys.executable, str(HEAD_JOB)], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "missing environment variables: SEQPIPE_RUN_ID, SEQPIPE_CONFIG_URI" in result.stderr


def test_head_job_fetches_the_run_config_and_execs_the_aws_batch_command(aws, tmp_path):
    s3 = aws("s3")
    s3.create_bucket(Bucket="raw")
    s3.put_object(Bucket="raw", Key="configs/RUN1.yaml", Body=b"samples: samples.tsv\n")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "snakemake").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > argv.txt\n')
    (fake_bin / "snakemake").chmod(0o755)
    workdir = tmp_path / "job"
    workdir.mkdir()
    env = {
        **os.environ,
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
        "SEQPIPE_WORKFLOW_DIR": str(REPO),
        "SEQPIPE_RUN_ID": "RUN1",
        "SEQPIPE_CONFIG_URI": "s3://raw/configs/RUN1.yaml",
        "SEQPIPE_OUTPUT_URI": "s3://processed/runs/RUN1",
        "SEQPIPE_TASK_TIMEOUT_SECONDS": "21600",
    }
    result = subprocess.run(
        [sys.executable, str(HEAD_JOB)], capture_output=True, text=True, env=env, cwd=workdir
    )

    assert result.returncode == 0, result.stderr
    argv = (workdir / "argv.txt").read_text().splitlines()
    assert argv[argv.index("--profile") + 1] == str(REPO / "profiles" / "aws-batch")
    assert argv[argv.index("--default-storage-prefix") + 1] == "s3://processed/runs/RUN1"
    assert argv[argv.index("--aws-batch-task-timeout") + 1] == "21600"
    assert (workdir / "run-config.yaml").read_text() == "samples: samples.tsv\n"
    assert not [a for a in argv if "secret" in a.lower() or "access-key" in a.lower()]
