"""`seqpipe status`: runs, a run's jobs and workflow steps, or a sample's jobs, from DynamoDB."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import click

from seqpipe.aws.transitions import JobStatus, StepStatus
from seqpipe.cli.output import ExitCode, emit_json, fail, json_option, reports_errors, table

if TYPE_CHECKING:
    from seqpipe.aws.views import Job


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}s"


def _exit(job: Job) -> int | None:
    return job.exit_status if job.exit_status is not None else job.engine_exit_status


# What a row of jobs can show, by column (a step is named by its rule and wildcards).
JOB_COLUMNS: dict[str, Callable[[Job], object]] = {
    "job": lambda j: j.label,
    "run": lambda j: j.run_id,
    "status": lambda j: j.status,
    "attempt": lambda j: j.attempt,
    "engine": lambda j: " ".join(filter(None, (j.engine, j.engine_job_id))),
    "exit": _exit,
    "created": lambda j: _when(j.created_at),
    "started": lambda j: _when(j.started_at),
    "duration": lambda j: _seconds(j.duration_seconds),
}


def _jobs_table(jobs: Sequence[Job], columns: Sequence[str]) -> str:
    return table([{c: JOB_COLUMNS[c](job) for c in columns} for job in jobs], columns)


@click.command()
@click.argument("run_id", required=False)
@click.option("--run", "run_option", help="The run to show with its steps (the same as RUN_ID).")
@click.option(
    "--status",
    type=click.Choice(sorted({*JobStatus, *StepStatus}), case_sensitive=False),
    help="Only runs (or a run's or a sample's jobs) with this status.",
)
@click.option("--sample", help="Show this sample's jobs across runs instead of runs.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@json_option
@reports_errors
def status(
    run_id: str | None,
    run_option: str | None,
    status: str | None,
    sample: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Runs newest first; with RUN_ID (or --run) the run and every step of its workflow (each attempt
    of each Snakemake job: status, engine job id, exit status) and its other jobs; with --sample a
    sample's status and jobs.

    Exit code 3 when the run or sample is unknown.

    \b
    Examples:
      seqpipe status                      # the 20 newest runs
      seqpipe status --status FAILED      # failed runs
      seqpipe status --run RUN_42         # one run and its steps
      seqpipe status RUN_42 --status FAILED --json   # its failed steps
      seqpipe status --sample NA12878     # a sample's jobs in every run
    """
    from seqpipe.aws.read_model import NotFound, ReadModel, job_from_item

    if run_id and run_option and run_id != run_option:
        fail(f"two runs given: {run_id} and --run {run_option}", ExitCode.USAGE)
    run_id = run_id or run_option
    data = ReadModel.from_env()
    status = status.upper() if status else None
    try:
        if run_id:
            detail = data.run(run_id)
            jobs = [j for j in detail.jobs if not status or j.status == status]
            if as_json:
                emit_json(
                    {
                        "run": detail.run.model_dump(mode="json"),
                        "jobs": [j.model_dump(mode="json") for j in jobs],
                    }
                )
                return
            run = detail.run
            click.echo(
                f"run {run.run_id}  {run.status}  project {run.project}  samples {run.samples}  "
                f"created {_when(run.created_at)}  duration {_seconds(run.duration_seconds) or '-'}"
            )
            if run.error:
                click.echo(f"error: {run.error}")
            click.echo(
                _jobs_table(jobs, ["job", "status", "attempt", "engine", "exit", "started", "duration"])
            )
            return
        if sample:
            items = data.repos.jobs.of_sample(sample, limit=None if status else limit)
            jobs = [job_from_item(i) for i in items if not status or i["status"] == status][:limit]
            record = data.repos.metadata.get_sample(sample)
            if not jobs and record is None:
                raise NotFound(f"unknown sample {sample!r}: no jobs and no record in the metadata table")
            head = {k: (record or {}).get(k) for k in ("sample", "project", "status", "run_id", "updated_at")}
            if as_json:
                emit_json({"sample": head, "jobs": [j.model_dump(mode="json") for j in jobs]})
                return
            click.echo(
                f"sample {sample}  {head['status'] or 'unrecorded'}  project {head['project'] or '-'}"
                f"  last run {head['run_id'] or '-'}"
            )
            click.echo(_jobs_table(jobs, ["job", "run", "status", "created", "duration"]))
            return
    except NotFound as error:
        fail(str(error), ExitCode.NOT_FOUND)
    runs = data.runs(status=status, limit=limit)
    if as_json:
        emit_json([r.model_dump(mode="json") for r in runs])
        return
    rows = [
        {"run": r.run_id, "project": r.project, "status": r.status, "created": _when(r.created_at),
         "duration": _seconds(r.duration_seconds), "samples": r.samples}
        for r in runs
    ]  # fmt: skip
    click.echo(table(rows, ["run", "project", "status", "created", "duration", "samples"]))
