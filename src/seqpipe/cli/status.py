"""`seqpipe status`: runs, a run's jobs, or a sample's jobs, from DynamoDB, newest first."""

from __future__ import annotations

import click

from seqpipe.aws.transitions import JobStatus
from seqpipe.cli.output import ExitCode, emit_json, fail, json_option, reports_errors, table


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}s"


@click.command()
@click.argument("run_id", required=False)
@click.option(
    "--status",
    type=click.Choice([s.value for s in JobStatus], case_sensitive=False),
    help="Only runs (or a sample's jobs) with this status.",
)
@click.option("--sample", help="Show this sample's jobs across runs instead of runs.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@json_option
@reports_errors
def status(run_id: str | None, status: str | None, sample: str | None, limit: int, as_json: bool) -> None:
    """Runs newest first; with RUN_ID the run and its jobs; with --sample a sample's status and jobs.

    Exit code 3 when the run or sample is unknown.

    \b
    Examples:
      seqpipe status                      # the 20 newest runs
      seqpipe status --status FAILED      # failed runs
      seqpipe status RUN_42 --json        # one run and its jobs
      seqpipe status --sample NA12878     # a sample's jobs in every run
    """
    from seqpipe.aws.read_model import NotFound, ReadModel, job_from_item

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
            rows = [
                {"job": j.job_id, "kind": j.kind, "sample": j.sample, "status": j.status,
                 "started": _when(j.started_at), "duration": _seconds(j.duration_seconds)}
                for j in jobs
            ]  # fmt: skip
            click.echo(table(rows, ["job", "kind", "sample", "status", "started", "duration"]))
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
            rows = [
                {"job": j.job_id, "run": j.run_id, "kind": j.kind, "status": j.status,
                 "created": _when(j.created_at), "duration": _seconds(j.duration_seconds)}
                for j in jobs
            ]  # fmt: skip
            click.echo(table(rows, ["job", "run", "kind", "status", "created", "duration"]))
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
