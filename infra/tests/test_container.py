"""The pipeline image's Dockerfile (linted; it cannot be built here) and its head-job entry point: the
package's `seqpipe-head-job` console script, as pip installs it into the image."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "docker" / "Dockerfile"
HEAD_JOB = Path(sys.executable).with_name("seqpipe-head-job")  # this venv's pip-installed console script


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1]) for line in lines]


def test_dockerfile_passes_hadolint():
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run([str(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_installs_pinned_packages_and_can_deploy_the_storage_plugin_offline():
    text = DOCKERFILE.read_text()
    assert '-c requirements/constraints.txt ".[pipeline,lambda,web]"' in text  # web: the dashboard
    assert "PIP_NO_INDEX=1" in text and "PIP_FIND_LINKS=/opt/wheels" in text
    assert "USER 10001" in text


def test_image_runs_the_packages_head_job_console_script():
    instructions = _instructions()
    cmd = [args for name, args in instructions if name == "CMD"]
    assert json.loads(cmd[-1]) == ["seqpipe-head-job"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["seqpipe-head-job"] == "seqpipe.execution.head_job:main"
    copied = [args for name, args in instructions if name in ("COPY", "ADD")]
    assert not [args for args in copied if "head-job" in args], "the image installs the head job with pip"
    assert not list((REPO / "docker").glob("*.py")), "no second head-job program beside the Dockerfile"
    # the head job runs Snakemake where the workflow was copied, a directory its user can write to
    assert ("ENV", "SEQPIPE_WORKFLOW_DIR=/opt/seqpipe") in instructions
    workdir = [args for name, args in instructions if name == "WORKDIR"]
    assert workdir[0] == "/opt/seqpipe" and "Snakefile ./" in copied
    assert any(name == "RUN" and "chown seqpipe /opt/seqpipe" in args for name, args in instructions)


def test_head_job_refuses_to_start_without_its_run_environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQPIPE_")}
    result = subprocess.run([str(HEAD_JOB)], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "missing environment variables: SEQPIPE_RUN_ID, SEQPIPE_CONFIG_URI" in result.stderr


def test_head_job_fetches_the_run_config_and_execs_the_aws_batch_command(aws, tmp_path):
    s3, batch = aws("s3"), aws("batch")
    s3.create_bucket(Bucket="raw")
    role = aws("iam").create_role(RoleName="batch", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    environment = batch.create_compute_environment(
        computeEnvironmentName="tasks", type="UNMANAGED", state="ENABLED", serviceRole=role
    )["computeEnvironmentArn"]
    queue = batch.create_job_queue(
        jobQueueName="tasks",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )["jobQueueArn"]
    s3.put_object(Bucket="raw", Key="configs/RUN1.yaml", Body=b"samples: samples.tsv\n")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "snakemake").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > argv.txt\n')
    (fake_bin / "snakemake").chmod(0o755)
    workflow = tmp_path / "opt-seqpipe"
    workflow.mkdir()
    env = {
        **os.environ,
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
        "SEQPIPE_WORKFLOW_DIR": str(workflow),
        "SEQPIPE_RUN_ID": "RUN1",
        "SEQPIPE_CONFIG_URI": "s3://raw/configs/RUN1.yaml",
        "SEQPIPE_OUTPUT_URI": "s3://processed/runs/RUN1/results",
        "SEQPIPE_TASK_TIMEOUT_SECONDS": "21600",
        "SNAKEMAKE_AWS_BATCH_JOB_QUEUE": queue,
    }
    result = subprocess.run([str(HEAD_JOB)], capture_output=True, text=True, env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    # Snakemake ran in the workflow directory, with the config fetched beside the Snakefile
    argv = (workflow / "argv.txt").read_text().splitlines()
    assert argv[argv.index("--profile") + 1] == "profiles/aws-batch"
    assert argv[argv.index("--configfile") + 1] == "run.yaml"
    assert argv[argv.index("--default-storage-prefix") + 1] == "s3://processed/runs/RUN1"
    assert argv[argv.index("--config") + 1] == "outdir=results"  # outputs at SEQPIPE_OUTPUT_URI
    assert argv[argv.index("--aws-batch-task-timeout") + 1] == "21600"
    assert argv[argv.index("--envvars") + 1] == "SEQPIPE_RUN_ID"  # every task job carries the run id
    assert (workflow / "run.yaml").read_text() == "samples: samples.tsv\n"
    assert not [a for a in argv if "secret" in a.lower() or "access-key" in a.lower()]
