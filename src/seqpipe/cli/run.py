"""`seqpipe run`: start a run locally with Snakemake, or in AWS through the run state machine."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml

from seqpipe.aws import qc, runs
from seqpipe.aws.repositories import Repositories, now_iso
from seqpipe.aws.runs import RunInputError, check_run_id
from seqpipe.aws.transitions import JobStatus, SampleStatus
from seqpipe.cli.output import ExitCode, emit_json, fail, json_option, reports_errors
from seqpipe.execution.command import PROFILES, STORAGE_ENGINES, snakemake_argv, workflow_environment
from seqpipe.qc.verdicts import FAIL, PASS
from seqpipe.steps import recording_args
from seqpipe.tsv import read_tsv

# A local run keeps its files on this machine's (or the cluster's shared) file system.
LOCAL_ENGINES = tuple(engine for engine in PROFILES if engine not in STORAGE_ENGINES)


def snakemake_command(
    configfile: Path,
    engine: str,
    cores: int | None,
    dry_run: bool,
    directory: Path | None,
    extra: tuple[str, ...],
) -> list[str]:
    """The engine's Snakemake command line (seqpipe.execution.command, with the workflow's profile),
    run by this Python."""
    options = [] if cores is None else ["--cores", str(cores)]
    if directory is not None:
        options += ["--directory", str(directory), "--snakefile", str(directory / "Snakefile")]
    if dry_run:
        options.append("--dry-run")
    profiles = (directory or Path()) / "profiles"
    argv = snakemake_argv(engine, profiles=profiles, configfile=configfile, extra=[*options, *extra])
    return [sys.executable, "-m", *argv]


@dataclass(frozen=True)
class LocalRecord:
    """Where a recorded local run goes in the data plane: its id, project, samples and outdir."""

    run_id: str
    project: str
    samples: list[str]
    outdir: Path

    @classmethod
    def from_config(cls, run_id: str, project: str, configfile: Path, workdir: Path) -> LocalRecord:
        """Samples and outdir as Snakemake will see them (paths relative to the workflow directory)."""
        try:
            config = yaml.safe_load(configfile.read_text()) or {}
        except yaml.YAMLError as error:
            fail(f"{configfile}: not valid YAML: {error}", ExitCode.USAGE)
        if not isinstance(config, dict):
            fail(f"{configfile}: expected a mapping of settings, got {type(config).__name__}", ExitCode.USAGE)
        if not config.get("samples"):
            fail(
                f"{configfile}: --record needs the config's `samples` sheet to know the run's samples",
                ExitCode.USAGE,
            )
        sheet = workdir / str(config["samples"])
        if not sheet.is_file():
            fail(f"{configfile}: samples sheet {sheet} not found", ExitCode.USAGE)
        samples = [row["sample"] for _, row in read_tsv(sheet)[1] if row.get("sample")]
        return cls(run_id, project, samples, (workdir / str(config.get("outdir", "results"))).resolve())


def record_local_qc(repos: Repositories, record: LocalRecord) -> dict[str, str]:
    """The workflow's QC summary into the QC table, one item per sample, as the Lambda records it."""
    try:
        result = qc.collect_run(
            repos.quality, record.run_id, record.project, record.samples, str(record.outdir)
        )
    except qc.QcInputError as error:
        click.echo(f"QC not recorded: {error}", err=True)
        return {}
    outcome = {sample: PASS for sample in result["passed"]} | {sample: FAIL for sample in result["failed"]}
    for sample, verdict in outcome.items():
        status = SampleStatus.QC_PASSED if verdict == PASS else SampleStatus.QC_FAILED
        repos.metadata.set_sample_status(sample, status, record.run_id)
    return outcome


def _start_record(record: LocalRecord) -> Repositories:
    """The data plane's own bookkeeping (seqpipe.aws.runs), as the state machine does for cloud runs."""
    repos = Repositories.from_env()
    recorded = runs.record_run(
        repos, record.run_id, record.project, record.samples, output_uri=str(record.outdir)
    )
    if not recorded["created"]:
        fail(f"run {record.run_id} is already recorded (and not FAILED); choose another id", ExitCode.REFUSED)
    runs.transition(repos, record.run_id, JobStatus.RUNNING, started_at=now_iso())
    return repos


def _finish_record(repos: Repositories, record: LocalRecord, returncode: int) -> None:
    if returncode == 0:
        verdicts = record_local_qc(repos, record)
        runs.transition(repos, record.run_id, JobStatus.SUCCEEDED, finished_at=now_iso())
        click.echo(f"recorded run {record.run_id}: SUCCEEDED, QC {verdicts or 'not found'}", err=True)
        return
    runs.transition(
        repos,
        record.run_id,
        JobStatus.FAILED,
        finished_at=now_iso(),
        error_name="SnakemakeFailed",
        error_cause=f"snakemake exited with code {returncode}",
    )
    click.echo(f"recorded run {record.run_id}: FAILED", err=True)


def _run_local(command: list[str], dry_run: bool, as_json: bool, record: LocalRecord | None) -> None:
    repos = _start_record(record) if record else None
    if as_json:
        # Snakemake's own output goes to stderr so stdout stays one JSON document.
        started = time.monotonic()
        returncode = subprocess.run(
            command, stdout=sys.stderr, env=workflow_environment(), check=False
        ).returncode
        emit_json(
            {
                "mode": "local",
                "command": command,
                "dry_run": dry_run,
                "returncode": returncode,
                "seconds": round(time.monotonic() - started, 3),
                "recorded_as": record.run_id if record else None,
            }
        )
    else:
        click.echo(f"$ {shlex.join(command)}", err=True)
        returncode = subprocess.run(command, env=workflow_environment(), check=False).returncode
    if record and repos:
        _finish_record(repos, record, returncode)
    if returncode != 0:
        sys.exit(int(ExitCode.FAILED))


def execution_input(
    run_id: str, project: str, samples: list[str], inputs: list[str], config_uri: str
) -> dict:
    """The input document the run state machine expects (seqpipe.orchestration.state_machine)."""
    return {
        "run_id": run_id,
        "project": project,
        "samples": samples,
        "inputs": inputs,
        "config_uri": config_uri,
    }


def _state_machine_arn() -> str:
    arn = os.environ.get("STATE_MACHINE_ARN", "")
    if not arn:
        fail(
            "STATE_MACHINE_ARN is not set: export the run state machine's ARN "
            "(CDK output RunStateMachineArn)",
            ExitCode.AWS,
        )
    return arn


def _wait(sfn: Any, execution_arn: str, poll_seconds: float) -> dict[str, Any]:
    while True:
        description = sfn.describe_execution(executionArn=execution_arn)
        if description["status"] != "RUNNING":
            return description
        time.sleep(poll_seconds)


def _start_attempt(sfn: Any, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Start the run's next attempt as the execution `<run_id>-<attempt>` (seqpipe.aws.runs)."""
    run_id, state_machine = payload["run_id"], _state_machine_arn()
    try:
        attempt = runs.next_attempt(Repositories.from_env(), run_id)
    except runs.RunNotRestartable as error:
        fail(str(error), ExitCode.REFUSED)
    name = runs.execution_name(run_id, attempt)
    try:
        # Starting the same name with the same input while it runs returns that execution: two
        # starts at once make one attempt. (The state machine ends any other duplicate in AlreadyStarted.)
        started = sfn.start_execution(stateMachineArn=state_machine, name=name, input=json.dumps(payload))
    except sfn.exceptions.ExecutionAlreadyExists:
        fail(
            f"run {run_id}: execution {name} (attempt {attempt}) exists already: another start of this "
            "attempt, with another input or already ended; see `seqpipe status`",
            ExitCode.REFUSED,
        )
    return attempt, started


def _run_cloud(payload: dict[str, Any], dry_run: bool, wait: bool, as_json: bool) -> None:
    import boto3

    if dry_run:
        result: dict[str, Any] = {"mode": "cloud", "dry_run": True, "input": payload}
        emit_json(result) if as_json else click.echo(json.dumps(payload, indent=2))
        return
    sfn = boto3.client("stepfunctions")
    attempt, started = _start_attempt(sfn, payload)
    result = {
        "mode": "cloud",
        "dry_run": False,
        "run_id": payload["run_id"],
        "attempt": attempt,
        **_jsonable(started),
    }
    status = "RUNNING"
    if wait:
        description = _wait(sfn, started["executionArn"], poll_seconds=2.0)
        status = description["status"]
        result.update(status=status, output=json.loads(description.get("output") or "null"))
    if as_json:
        emit_json(result)
    else:
        click.echo(f"run {payload['run_id']} attempt {attempt}: execution {started['executionArn']} {status}")
    if status not in {"RUNNING", "SUCCEEDED"}:
        sys.exit(int(ExitCode.FAILED))


def _jsonable(response: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in response.items()
        if k != "ResponseMetadata"
    }


@click.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--configfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Pipeline config (samples, units, reference, calling, outdir). Required locally.",
)
@click.option(
    "--engine",
    type=click.Choice(LOCAL_ENGINES),
    default="local",
    show_default=True,
    help="[local] Where the jobs run: this machine, or SLURM from a login node (profiles/<engine>).",
)
@click.option(
    "--cores",
    type=click.IntRange(min=1),
    help="[local] Cores for the run (default: the profile's, all of this machine locally, the largest "
    "node per job on SLURM).",
)
@click.option("--dry-run", "-n", is_flag=True, help="Show what would run; start nothing.")
@click.option(
    "--directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Workflow directory holding the Snakefile (default: the current directory).",
)
@click.option(
    "--record",
    "record_id",
    help="[local] Record the run under this id in the data plane's tables (status, samples, every "
    "step of the workflow as it runs, QC from qc/qc_summary.tsv, outdir for the MultiQC link), so "
    "`status`, `qc` and the dashboard show it.",
)
@click.option("--cloud", is_flag=True, help="Start the run in AWS through the run state machine.")
@click.option(
    "--run-id",
    help="[cloud] Run identifier. A new run starts as attempt 1 (execution <run-id>-1); a FAILED or "
    "ABORTED run starts its next attempt; a run that is running or done is not started again.",
)
@click.option(
    "--project", default="default", show_default=True, help="[cloud] Project the samples belong to."
)
@click.option("--sample", "samples", multiple=True, help="[cloud] Sample id (repeat for several).")
@click.option("--input", "inputs", multiple=True, help="[cloud] s3:// URI of an input file (repeatable).")
@click.option("--config-uri", help="[cloud] s3:// URI of the pipeline config the Batch job reads.")
@click.option("--wait/--no-wait", default=False, help="[cloud] Wait for the execution to finish.")
@json_option
@click.argument("snakemake_args", nargs=-1, type=click.UNPROCESSED)
@reports_errors
def run(
    configfile: Path | None,
    engine: str,
    cores: int | None,
    dry_run: bool,
    directory: Path | None,
    record_id: str | None,
    cloud: bool,
    run_id: str | None,
    project: str,
    samples: tuple[str, ...],
    inputs: tuple[str, ...],
    config_uri: str | None,
    wait: bool,
    as_json: bool,
    snakemake_args: tuple[str, ...],
) -> None:
    """Start a run: locally `snakemake --profile profiles/ENGINE --configfile FILE [ARGS]`, or with
    --cloud in AWS.

    Extra arguments after `--` go to Snakemake unchanged (local runs). Exit code 0 when the run
    succeeded (or, in the cloud without --wait, started), 1 when it failed.

    \b
    Examples:
      seqpipe run --configfile config/config.yaml --cores 2 --dry-run
      seqpipe run --configfile config/config.yaml --engine slurm -- --jobs 8
      seqpipe run --cloud --run-id RUN_42 --project P1 --sample S1 \\
          --input s3://raw/P1/S1_R1.fastq.gz --input s3://raw/P1/S1_R2.fastq.gz \\
          --config-uri s3://raw/P1/config.yaml --wait
    """
    if cloud:
        missing = [name for name, value in (("--run-id", run_id), ("--config-uri", config_uri)) if not value]
        if missing or not samples:
            fail(f"--cloud needs {', '.join([*missing, *([] if samples else ['--sample'])])}", ExitCode.USAGE)
        bad = [uri for uri in (*inputs, config_uri) if not str(uri).startswith("s3://")]
        if bad:
            fail(f"cloud inputs must be s3:// URIs, got: {', '.join(map(str, bad))}", ExitCode.USAGE)
        try:
            check_run_id(str(run_id))
        except RunInputError as error:
            fail(f"--run-id: {error}", ExitCode.USAGE)
        payload = execution_input(str(run_id), project, list(samples), list(inputs), str(config_uri))
        _run_cloud(payload, dry_run, wait, as_json)
        return
    if configfile is None:
        fail("--configfile is required for a local run", ExitCode.USAGE)
    record = None
    if record_id and not dry_run:
        try:
            check_run_id(record_id)
        except RunInputError as error:
            fail(f"--record: {error}", ExitCode.USAGE)
        record = LocalRecord.from_config(record_id, project, configfile, directory or Path.cwd())
        # the steps, from Snakemake's own events (seqpipe.steps, through its logger plugin)
        snakemake_args = (*recording_args(record_id), *snakemake_args)
    command = snakemake_command(configfile, engine, cores, dry_run, directory, snakemake_args)
    _run_local(command, dry_run, as_json, record)
