"""`seqpipe run --record` on the local engine: every Snakemake job of the run becomes step items in the
jobs table of the local AWS endpoint, written by the logger plugin from Snakemake's own events; a job
killed mid-run shows FAILED then its new attempt; DynamoDB going away mid-run does not fail the run,
and the steps catch up when it is back."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from engine_harness import VENV_BIN, job_stats, run_venv_command
from workflow_dir import record_argv, workflow_dir

from seqpipe.aws.items import STEP_KIND
from seqpipe.aws.repositories import JobRepository, Repositories
from seqpipe.aws.settings import Settings
from seqpipe.aws.tables import create_tables

pytestmark = pytest.mark.aws

SEQPIPE = str(VENV_BIN / "seqpipe")
WORKFLOW = """
rule all:
    input: expand("out/{sample}.merged.txt", sample=["A", "B"])

rule make_part:
    output: "out/{sample}.part{part}.txt"
    log: "logs/make_part/{sample}.{part}.log"
    resources: mem_mb=200
    shell: "echo {wildcards.sample} {wildcards.part} > {output}; echo made > {log}"

rule merge_parts:
    input: expand("out/{{sample}}.part{part}.txt", part=[1, 2])
    output: "out/{sample}.merged.txt"
    log: "logs/merge_parts/{sample}.log"
    threads: 2
    resources: mem_mb=300
    shell: "cat {input} > {output} 2> {log}"
"""
# the first attempt kills its own shell (as the OOM killer would); the profile's retry succeeds
KILLED_ONCE = """
rule all:
    input: "out/survivor.txt"

rule crash_once:
    output: "out/survivor.txt"
    log: "logs/crash_once.log"
    shell: "echo try >> {log}; if [ ! -e crashed ]; then touch crashed; kill -9 $$; fi; echo ok > {output}"
"""
# each step waits for a file the test creates, so the test decides when DynamoDB goes away and returns
GATED = """
rule all:
    input: "out/after.txt"

rule before_outage:
    output: "out/before.txt"
    shell: "echo 1 > {output}"

rule during_outage:
    input: "out/before.txt"
    output: "out/during.txt"
    shell: "while [ ! -e go ]; do sleep 0.2; done; echo 2 > {output}"

rule after_outage:
    input: "out/during.txt"
    output: "out/after.txt"
    shell: "while [ ! -e resume ]; do sleep 0.2; done; echo 3 > {output}"
"""


def steps_of(run_id: str, jobs: JobRepository | None = None) -> list[dict]:
    jobs = jobs or Repositories.from_env().jobs
    return sorted(
        (i for i in jobs.of_run(run_id) if i["kind"] == STEP_KIND), key=lambda s: (s["rule"], s["job_id"])
    )


def statuses(step: dict) -> list[str]:
    return [change["status"] for change in step["history"]]


@pytest.fixture
def tables(aws: Callable) -> Settings:
    settings = Settings.from_env()
    create_tables(aws("dynamodb"), settings.table_names())
    return settings


def test_a_recorded_local_run_writes_one_step_per_job_with_its_transitions(tables, tmp_path: Path) -> None:
    workdir = workflow_dir(tmp_path / "wf", WORKFLOW)

    run = run_venv_command(record_argv(SEQPIPE, workdir, "LOCAL_STEPS"), cwd=tmp_path, timeout=300)

    steps = steps_of("LOCAL_STEPS")
    planned = job_stats(run.log)
    assert planned == {"make_part": 4, "merge_parts": 2, "all": 1}
    assert Counter(s["rule"] for s in steps) == planned, "one step per job Snakemake planned"
    assert len({s["job_id"] for s in steps}) == len(steps)
    assert all(s["job_id"].startswith("LOCAL_STEPS.") and s["attempt"] == 1 for s in steps)
    for step in steps:
        assert statuses(step) == ["QUEUED", "RUNNING", "SUCCEEDED"], step
        assert step["status"] == "SUCCEEDED" and step["engine"] == "local"
        assert step["created_at"] <= step["started_at"] <= step["finished_at"]
        assert all(Path(log).is_file() and Path(log).is_relative_to(workdir) for log in step["logs"])
    merge = next(s for s in steps if s["rule"] == "merge_parts")
    assert (
        merge["threads"] == 2 and merge["mem_mb"] == 300 and merge["sample"] == merge["wildcards"]["sample"]
    )
    assert {s["wildcards"]["part"] for s in steps if s["rule"] == "make_part"} == {"1", "2"}
    assert "seqpipe: recorded 7 steps of run LOCAL_STEPS" in run.log


def test_a_job_killed_mid_run_is_failed_then_a_new_attempt(tables, tmp_path: Path) -> None:
    workdir = workflow_dir(tmp_path / "wf", KILLED_ONCE)

    run = run_venv_command(record_argv(SEQPIPE, workdir, "KILLED"), cwd=workdir, timeout=300)

    assert "Trying to restart job" in run.log
    first, second = [s for s in steps_of("KILLED") if s["rule"] == "crash_once"]
    assert (first["attempt"], second["attempt"]) == (1, 2)
    assert first["snakemake_jobid"] == second["snakemake_jobid"] and first["job_id"] != second["job_id"]
    assert statuses(first) == ["QUEUED", "RUNNING", "FAILED"] and first["exit_status"] == -9  # SIGKILL
    assert statuses(second) == ["QUEUED", "RUNNING", "SUCCEEDED"] and "exit_status" not in second
    assert first["finished_at"] <= second["created_at"]


def _wait_for(condition: Callable[[], object], what: str, proc: subprocess.Popen, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert proc.poll() is None, f"the run ended while waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)
    return found


def test_dynamodb_unreachable_mid_run_does_not_fail_it_and_the_steps_catch_up(
    tables, aws_via_proxy, moto_endpoint: str, tmp_path: Path
) -> None:
    from aws_proxy import FaultRule

    workdir = workflow_dir(tmp_path / "wf", GATED)
    # the test reads the table directly; the run reaches it through the proxy only
    direct = JobRepository(tables.jobs_table, boto3.resource("dynamodb", endpoint_url=moto_endpoint))

    def step(rule: str) -> dict | None:
        return next((s for s in steps_of("OUTAGE", direct) if s["rule"] == rule), None)

    def spilled() -> list[str]:
        files = (workdir / ".snakemake" / "seqpipe-steps").glob("OUTAGE.*.jsonl")
        return [line for path in files for line in path.read_text().splitlines()]

    log = (tmp_path / "run.log").open("w")
    # two writes held in memory at most: the rest of the backlog goes to the spill file
    argv = [*record_argv(SEQPIPE, workdir, "OUTAGE"), "--", "--logger-seqpipe-max-buffered", "2"]
    proc = subprocess.Popen(
        ["timeout", "--kill-after=20", "300", *argv],
        cwd=tmp_path, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_for(lambda: (s := step("during_outage")) and s["status"] == "RUNNING", "the 2nd step", proc)
        aws_via_proxy.inject(FaultRule(service="dynamodb", drop=True))
        (workdir / "go").touch()
        # the run goes on while the table is unreachable: the 3rd step runs, and no write gets through
        _wait_for(lambda: (workdir / "out" / "during.txt").exists(), "the 2nd step's output", proc)
        _wait_for(
            lambda: [r for r in aws_via_proxy.requests() if r.service == "dynamodb" and r.fault == "drop"],
            "a step write to fail",
            proc,
        )
        assert step("during_outage")["status"] == "RUNNING" and step("after_outage") is None
        _wait_for(spilled, "the backlog to spill to its file", proc)

        aws_via_proxy.inject()  # the table is back
        # the backlog drains while the run is still going (the 3rd step waits for `resume`)
        _wait_for(lambda: (s := step("after_outage")) and s["status"] == "RUNNING", "the backlog", proc)
        (workdir / "resume").touch()
        returncode = proc.wait(120)
    finally:
        proc.kill()
        log.close()
    output = (tmp_path / "run.log").read_text()
    assert returncode == 0, output[-3000:]
    steps = steps_of("OUTAGE", direct)
    assert [s["rule"] for s in steps] == ["after_outage", "all", "before_outage", "during_outage"]
    assert all(statuses(s) == ["QUEUED", "RUNNING", "SUCCEEDED"] for s in steps), steps
    assert Repositories.from_env().jobs.get("OUTAGE")["status"] == "SUCCEEDED"
    assert not spilled(), "the spill file is read back and removed"
    retried = re.search(r"seqpipe: recorded 4 steps of run OUTAGE .* (\d+) retried", output)
    assert retried and int(retried.group(1)) > 0 and "not written" not in output
