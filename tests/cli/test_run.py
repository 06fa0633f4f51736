"""`seqpipe run`: Snakemake locally (a tiny workflow stands in for the pipeline), the state machine in
the cloud (a minimal state machine in the local endpoint)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from seqpipe.aws.repositories import Repositories

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = """
rule all:
    input: expand("out/{name}.txt", name=config["names"])

rule write:
    output: "out/{name}.txt"
    shell: "echo {wildcards.name} > {output}"
"""
FAILING_WORKFLOW = """
rule all:
    output: "never.txt"
    shell: "exit 3"
"""


def _workflow(tmp_path: Path, text: str) -> tuple[Path, Path]:
    """A workflow directory as the checkout has it: the Snakefile beside the pipeline's profiles."""
    (tmp_path / "Snakefile").write_text(text)
    shutil.copytree(REPO / "profiles", tmp_path / "profiles")
    config = tmp_path / "config.yaml"
    config.write_text("names: [a, b]\n")
    return tmp_path, config


def test_a_dry_run_plans_the_jobs_and_writes_nothing(seqpipe, tmp_path):
    workdir, config = _workflow(tmp_path, WORKFLOW)
    result = seqpipe(
        "run", "--configfile", str(config), "--cores", "1", "--dry-run", "--directory", str(workdir)
    )
    assert result.returncode == 0, result.stderr
    assert "--dry-run" in result.stderr and "write" in result.stdout + result.stderr
    assert not (workdir / "out").exists()


def test_a_local_run_wraps_snakemake_and_reports_json(seqpipe, tmp_path):
    workdir, config = _workflow(tmp_path, WORKFLOW)
    result = seqpipe(
        "run", "--configfile", str(config), "--cores", "1", "--directory", str(workdir), "--json"
    )
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["mode"] == "local" and report["returncode"] == 0
    command = report["command"]
    assert command[command.index("--cores") + 1] == "1"
    assert command[-4:] == ["--directory", str(workdir), "--snakefile", str(workdir / "Snakefile")]
    assert (workdir / "out" / "a.txt").read_text() == "a\n"


def test_a_failing_local_run_exits_1(seqpipe, tmp_path):
    workdir, config = _workflow(tmp_path, FAILING_WORKFLOW)
    result = seqpipe("run", "--configfile", str(config), "--cores", "1", "--directory", str(workdir))
    assert result.returncode == 1


def test_a_local_run_is_the_local_engine_command_with_its_profile(seqpipe, tmp_path):
    workdir, config = _workflow(tmp_path, FAILING_WORKFLOW)
    result = seqpipe("run", "--configfile", str(config), "--directory", str(workdir), "--json")
    assert result.returncode == 1
    command = result.json()["command"]
    assert command[2:7] == [
        "snakemake",
        "--profile",
        str(workdir / "profiles" / "local"),
        "--configfile",
        str(config),
    ]
    assert "--cores" not in command, "the profile's cores (all of this machine) unless --cores is given"
    # profiles/local retries a failed job once
    assert "Trying to restart job" in result.stderr


def test_extra_arguments_go_to_snakemake_after_the_engines_command(seqpipe, tmp_path):
    workdir, config = _workflow(tmp_path, WORKFLOW)
    result = seqpipe(
        "run", "--configfile", str(config), "--directory", str(workdir), "--json", "--",
        "--forcerun", "write", "--until", "write",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.json()["command"][-4:] == ["--forcerun", "write", "--until", "write"]
    assert (workdir / "out" / "b.txt").read_text() == "b\n"


def test_a_slurm_dry_run_plans_with_the_slurm_profile(seqpipe, tmp_path):
    workdir, config = _workflow(tmp_path, WORKFLOW)
    result = seqpipe("run", "--configfile", str(config), "--engine", "slurm", "--dry-run", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "--profile profiles/slurm --configfile" in result.stderr
    assert "Using profile profiles/slurm" in result.stdout + result.stderr
    assert not (workdir / "out").exists()


def test_a_local_run_needs_a_configfile(seqpipe):
    result = seqpipe("run")
    assert result.returncode == 2 and "--configfile is required" in result.stderr


CLOUD_ARGS = ("--cloud", "--run-id", "RUN_42", "--project", "P1", "--sample", "S1",
              "--input", "s3://seqpipe-raw/P1/RUN_42/S1/S1_R1.fastq.gz",
              "--config-uri", "s3://seqpipe-raw/P1/RUN_42/config.yaml")  # fmt: skip


def test_a_cloud_dry_run_prints_the_execution_input(seqpipe, aws):
    result = seqpipe("run", *CLOUD_ARGS, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "run_id": "RUN_42",
        "project": "P1",
        "samples": ["S1"],
        "inputs": ["s3://seqpipe-raw/P1/RUN_42/S1/S1_R1.fastq.gz"],
        "config_uri": "s3://seqpipe-raw/P1/RUN_42/config.yaml",
    }


@pytest.fixture
def echo_machine(aws, monkeypatch) -> str:
    """A state machine that echoes its input, as $STATE_MACHINE_ARN."""
    definition = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}
    arn = aws("stepfunctions").create_state_machine(
        name="seqpipe-run", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    return arn


def test_a_cloud_run_starts_its_first_attempt_named_after_the_run(seqpipe, settings, echo_machine):
    result = seqpipe("run", *CLOUD_ARGS, "--wait", "--json")
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["status"] == "SUCCEEDED" and report["executionArn"].endswith(":RUN_42-1")
    assert report["attempt"] == 1 and report["output"]["run_id"] == "RUN_42"


def test_a_cloud_run_starts_the_next_attempt_of_a_failed_run_and_refuses_an_active_one(
    seqpipe, settings, echo_machine
):
    jobs = Repositories.from_settings(settings).jobs
    jobs.record_run("RUN_42", "P1", ["S1"], execution_arn=f"{echo_machine}:RUN_42-1")
    jobs.transition("RUN_42", "RUNNING")

    refused = seqpipe("run", *CLOUD_ARGS)
    assert refused.returncode == 4 and "run RUN_42 is RUNNING (attempt 1, execution" in refused.stderr

    jobs.transition("RUN_42", "FAILED")
    result = seqpipe("run", *CLOUD_ARGS, "--json")
    assert result.returncode == 0, result.stderr
    assert result.json()["attempt"] == 2 and result.json()["executionArn"].endswith(":RUN_42-2")


def test_a_cloud_run_without_the_state_machine_arn_is_exit_5(seqpipe, aws, monkeypatch):
    monkeypatch.delenv("STATE_MACHINE_ARN", raising=False)
    result = seqpipe("run", *CLOUD_ARGS)
    assert result.returncode == 5 and "STATE_MACHINE_ARN" in result.stderr


def test_cloud_inputs_must_be_s3_uris(seqpipe, aws):
    result = seqpipe("run", "--cloud", "--run-id", "R1", "--sample", "S1", "--config-uri", "config.yaml")
    assert result.returncode == 2 and "s3:// URIs" in result.stderr


def test_a_cloud_run_id_must_leave_room_for_the_attempt_in_the_execution_name(seqpipe, aws):
    result = seqpipe("run", *CLOUD_ARGS[:2], "R" * 73, *CLOUD_ARGS[3:])
    assert result.returncode == 2 and "--run-id" in result.stderr and "1-72 letters" in result.stderr


RECORDED_WORKFLOW = """
from seqpipe.qc.summary import QcSummary, write_summary
from seqpipe.qc.verdicts import evaluate
from seqpipe.tsv import read_rows

SAMPLES = [r["sample"] for r in read_rows(config["samples"])]

rule all:
    input: "results/qc/qc_summary.json", "results/qc/multiqc_report.html"

rule qc:
    output:
        tsv="results/qc/qc_summary.tsv", mqc="results/qc/qc_summary_mqc.tsv",
        json="results/qc/qc_summary.json", report="results/qc/multiqc_report.html"
    run:
        metrics = {s: {"mean_depth": 30.0 if s == "A" else 9.0} for s in SAMPLES}
        checks = [c for s in SAMPLES for c in evaluate(s, metrics[s], {"mean_depth": {"min": 15}})]
        write_summary(QcSummary.of(metrics, checks), output.tsv, output.mqc, output.json)
        open(output.report, "w").write("<html><h1>local MultiQC</h1></html>")
"""


def test_a_recorded_local_run_shows_in_status_qc_and_the_dashboard(seqpipe, settings, tmp_path):
    secret = "recorded"
    _workflow(tmp_path, RECORDED_WORKFLOW)
    (tmp_path / "samples.tsv").write_text("sample\nA\nB\n")
    config = tmp_path / "config.yaml"
    config.write_text("samples: samples.tsv\noutdir: results\n")
    result = seqpipe(
        "run", "--configfile", str(config), "--cores", "1", "--directory", str(tmp_path),
        "--record", "LOCAL_7", "--project", "LAB",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "recorded run LOCAL_7: SUCCEEDED" in result.stderr

    status = seqpipe("status", "--run", "LOCAL_7", "--json").json()
    run = status["run"]
    assert run["status"] == "SUCCEEDED" and run["project"] == "LAB" and run["samples"] == 2
    steps = {(j["rule"], j["status"], j["engine"]) for j in status["jobs"] if j["kind"] == "step"}
    assert steps == {("qc", "SUCCEEDED", "local"), ("all", "SUCCEEDED", "local")}
    qc = seqpipe("qc", "LOCAL_7", "--json")
    assert qc.returncode == 1  # B fails
    assert {e["sample"]: e["verdict"] for e in qc.json()} == {"A": "PASS", "B": "FAIL"}

    from fastapi.testclient import TestClient

    from seqpipe.web.app import create_app
    from seqpipe.web.auth import issue_token

    with TestClient(
        create_app(secret=secret), headers={"Authorization": f"Bearer {issue_token(secret, 't', 60)}"}
    ) as client:
        report = client.get("/runs/LOCAL_7/report")
        assert report.status_code == 200 and "local MultiQC" in report.text

    again = seqpipe("run", "--configfile", str(config), "--directory", str(tmp_path), "--record", "LOCAL_7")
    assert again.returncode == 4 and "already recorded" in again.stderr


def test_a_config_that_is_not_yaml_is_a_clear_error(seqpipe, settings, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("samples: [unclosed\n")
    result = seqpipe("run", "--configfile", str(config), "--directory", str(tmp_path), "--record", "R1")
    assert result.returncode == 2 and "not valid YAML" in result.stderr and "Traceback" not in result.stderr


def test_a_recorded_run_without_a_qc_summary_names_the_missing_file(seqpipe, settings, tmp_path):
    _workflow(
        tmp_path,
        'rule report:\n    output: "results/qc/multiqc_report.html"\n    shell: "echo report > {output}"\n',
    )
    (tmp_path / "samples.tsv").write_text("sample\nA\n")
    config = tmp_path / "config.yaml"
    config.write_text("samples: samples.tsv\noutdir: results\n")
    result = seqpipe(
        "run",
        "--configfile",
        str(config),
        "--cores",
        "1",
        "--directory",
        str(tmp_path),
        "--record",
        "LOCAL_8",
    )
    assert result.returncode == 0, result.stderr
    summary = tmp_path / "results" / "qc" / "qc_summary.json"
    assert f"QC not recorded: {summary} not found" in result.stderr
    assert "recorded run LOCAL_8: SUCCEEDED, QC not found" in result.stderr
