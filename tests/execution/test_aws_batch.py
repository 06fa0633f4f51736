"""The unchanged workflow on AWS Batch with S3 storage, against the local AWS endpoint: the head job
(`seqpipe-head-job`, the image's command) fetches the run config and submits every rule as a Batch job
(run as a local process by the endpoint), the results land in S3, and the job definitions carry the
profile's timeout, exact (vCPU, memory) pairs, the run id and no storage credentials, and are neither
privileged nor named outside the deployment's prefix."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from emulated_batch import BatchQueue, as_workflow_checkout, batch_jobs, head_job_environment, upload_tree
from engine_harness import PROCESSED_BUCKET, SAMPLE, VENV_BIN, final_outputs, run_venv_command, s3_keys
from snakemake_executor_plugin_aws_batch.constant import VALID_RESOURCES_MAPPING

from seqpipe.aws.items import STEP_KIND
from seqpipe.aws.layout import run_output_uri, storage_of
from seqpipe.aws.qc import collect_run
from seqpipe.aws.repositories import Repositories
from seqpipe.aws.run_jobs import RUN_ID_VARIABLE
from seqpipe.aws.settings import Settings
from seqpipe.aws.tables import create_tables

pytestmark = [pytest.mark.e2e, pytest.mark.aws]

TASK_TIMEOUT = 900


def test_pipeline_on_aws_batch_submits_runs_and_uploads(
    aws: Callable, run_dir: Path, batch_queue: BatchQueue
) -> None:
    s3, batch = aws("s3"), aws("batch")
    create_tables(aws("dynamodb"), Settings.from_env().table_names())  # the head job records the steps
    s3.create_bucket(Bucket=PROCESSED_BUCKET)
    # where the state machine sends the run's outputs (SEQPIPE_OUTPUT_URI) and looks for them after
    output = run_output_uri(PROCESSED_BUCKET, "run-batch")
    prefix, outdir = storage_of(output)
    run_key = prefix.removeprefix(f"s3://{PROCESSED_BUCKET}/")
    upload_tree(s3, run_dir / "data", PROCESSED_BUCKET, run_key)
    # the run config's own outdir does not decide where a Batch run's outputs go: the layout does
    config = yaml.safe_load((run_dir / "run.yaml").read_text())
    (run_dir / "run.yaml").write_text(yaml.safe_dump({**config, "outdir": "not-the-layouts"}))
    s3.upload_file(str(run_dir / "run.yaml"), PROCESSED_BUCKET, "configs/run-batch.yaml")
    as_workflow_checkout(run_dir)
    config_uri = f"s3://{PROCESSED_BUCKET}/configs/run-batch.yaml"
    head_job = head_job_environment(batch_queue, "run-batch", config_uri, output, run_dir, TASK_TIMEOUT)
    env = dict(os.environ, **head_job)

    run = run_venv_command([str(VENV_BIN / "seqpipe-head-job")], cwd=run_dir.parent, timeout=900, env=env)

    keys = s3_keys(s3, PROCESSED_BUCKET, run_key + "/")
    missing = [f for f in final_outputs(outdir) if f"{run_key}/{f}" not in keys]
    assert not missing, f"not in s3://{PROCESSED_BUCKET}/{run_key}/: {missing}"
    assert not [k for k in keys if "/not-the-layouts/" in k]
    # the state machine's CollectQC finds the run's QC summary at the output URI it is given
    collected = collect_run(Repositories.from_env().quality, "run-batch", "P1", [SAMPLE], output)
    assert collected["passed"] + collected["failed"] == [SAMPLE]
    assert "Setting memory to minimum allowed value" not in run.log, "Batch memory was rounded down"

    definitions = batch.describe_job_definitions()["jobDefinitions"]
    local_jobs = run.log.count("\nlocalrule ")
    # a Batch job runs one Snakemake job, or the members of a job group (profiles/aws-batch)
    submitted = batch_jobs(batch, batch_queue.queue_arn)
    members = {job.job_id: len(job.targets) for job in submitted}
    assert len(definitions) == len(submitted) > 0, "one job definition per submitted job"
    assert sum(members.values()) == run.log.count("\nrule ") + run.log.count("\n    rule ")
    assert local_jobs == 1, "only the target rule `all` runs in the head job"
    for definition in definitions:
        container = definition["containerProperties"]
        # registered as the head role may (infra/seqpipe_infra/batch_stack.py): never privileged, under
        # the deployment's prefix; the plugin asks for privileged containers named snakejob-def-*
        assert container["privileged"] is False, definition["jobDefinitionName"]
        assert definition["jobDefinitionName"].startswith("seqpipe-test-snakejob-def-")
        assert definition["timeout"]["attemptDurationSeconds"] == TASK_TIMEOUT
        assert container["image"] == "seqpipe-pipeline:test"
        names = {e["name"] for e in container["environment"]}
        assert not {n for n in names if any(s in n for s in ("KEY", "SECRET", "TOKEN"))}, names
        # the run id every task job carries, by which the run cleanup finds it (seqpipe.aws.run_jobs)
        assert {"name": RUN_ID_VARIABLE, "value": "run-batch"} in container["environment"]
        req = {r["type"]: int(r["value"]) for r in container["resourceRequirements"]}
        assert req["VCPU"] in VALID_RESOURCES_MAPPING[req["MEMORY"]], definition["jobDefinitionName"]
    jobs = [
        j
        for status in ("SUCCEEDED", "FAILED")
        for j in batch.list_jobs(jobQueue=batch_queue.queue_arn, jobStatus=status)["jobSummaryList"]
    ]
    assert jobs and all(j["status"] == "SUCCEEDED" for j in jobs)

    # every step of the run is recorded with the Batch job that ran it, read off the executor's calls
    steps = [i for i in Repositories.from_env().jobs.of_run("run-batch") if i["kind"] == STEP_KIND]
    on_batch = [s for s in steps if s["engine"] == "aws-batch"]
    assert len(steps) == sum(members.values()) + local_jobs and len(on_batch) == sum(members.values())
    assert Counter(s["engine_job_id"] for s in on_batch) == members
    assert set(members) == {j["jobId"] for j in jobs}
    for step in on_batch:
        assert [h["status"] for h in step["history"]] == ["QUEUED", "RUNNING", "SUCCEEDED"], step
        assert step["engine_state"] == "SUCCEEDED" and step["engine_exit_status"] == 0
        assert all(log.startswith(f"{prefix}/") for log in step["logs"]), step["logs"]
