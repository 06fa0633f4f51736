#!/usr/bin/env python3
"""seqpipe-head-job: the command of the AWS Batch head job (infra/seqpipe_infra/batch_stack.py).

The state machine's RunWorkflow step sets SEQPIPE_RUN_ID, SEQPIPE_CONFIG_URI (s3://…/run.yaml) and
SEQPIPE_OUTPUT_URI (s3://<processed>/runs/<run id>); the job definition sets the executor settings
(SNAKEMAKE_AWS_BATCH_JOB_QUEUE/_JOB_ROLE, SEQPIPE_AWS_REGION, SEQPIPE_TASK_TIMEOUT_SECONDS,
SEQPIPE_CONTAINER_IMAGE) that profiles/aws-batch reads. This fetches the run config and replaces
itself with the one Snakemake command line of seqpipe.execution.command. Credentials come from the
job role; no key is ever put on the command line.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import boto3

from seqpipe.execution.command import snakemake_argv

WORKFLOW_DIR = Path(os.environ.get("SEQPIPE_WORKFLOW_DIR", "/opt/seqpipe"))
REQUIRED = ("SEQPIPE_RUN_ID", "SEQPIPE_CONFIG_URI", "SEQPIPE_OUTPUT_URI", "SEQPIPE_TASK_TIMEOUT_SECONDS")


def main() -> int:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        print(f"seqpipe-head-job: missing environment variables: {', '.join(missing)}", file=sys.stderr)
        return 2
    config_uri = os.environ["SEQPIPE_CONFIG_URI"]
    if not config_uri.startswith("s3://") or "/" not in config_uri[5:]:
        print(
            f"seqpipe-head-job: SEQPIPE_CONFIG_URI must be s3://bucket/key, got {config_uri!r}",
            file=sys.stderr,
        )
        return 2
    bucket, _, key = config_uri[5:].partition("/")
    configfile = Path.cwd() / "run-config.yaml"
    boto3.client("s3").download_file(bucket, key, str(configfile))
    argv = snakemake_argv(
        "aws-batch",
        profiles=WORKFLOW_DIR / "profiles",
        configfile=configfile,
        storage_prefix=os.environ["SEQPIPE_OUTPUT_URI"],
        # explicit although the profile reads the same variable: the plugin's default is 300 s
        extra=[
            "--snakefile",
            str(WORKFLOW_DIR / "Snakefile"),
            "--aws-batch-task-timeout",
            os.environ["SEQPIPE_TASK_TIMEOUT_SECONDS"],
        ],
    )
    print("seqpipe-head-job:", " ".join(argv), flush=True)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    sys.exit(main())
