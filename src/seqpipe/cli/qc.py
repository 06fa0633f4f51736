"""`seqpipe qc`: the QC table of a run or a sample (PASS/FAIL with reasons), or a project's failures."""

from __future__ import annotations

import sys

import click

from seqpipe.cli.output import ExitCode, emit_json, fail, json_option, reports_errors, table

SHOWN_METRICS = ("mean_depth", "duplicate_pct", "mapped_pct", "tstv")


@click.command()
@click.argument("run_id", required=False)
@click.option("--sample", help="QC of this sample in every run.")
@click.option("--project", help="Every failing sample of this project, in every run.")
@json_option
@reports_errors
def qc(run_id: str | None, sample: str | None, project: str | None, as_json: bool) -> None:
    """The QC verdicts of RUN_ID's samples, of one --sample across runs, or a --project's failures.

    Exit code 0 when every sample shown passes, 1 when any fails (so scripts can gate on it),
    3 when the run or sample is unknown.

    \b
    Examples:
      seqpipe qc RUN_42
      seqpipe qc --sample NA12878 --json
      seqpipe qc --project P1            # every failing sample of the project
    """
    from seqpipe.aws.read_model import NotFound, ReadModel, qc_from_item

    if sum(bool(x) for x in (run_id, sample, project)) != 1:
        fail("give exactly one of RUN_ID, --sample or --project", ExitCode.USAGE)
    data = ReadModel.from_env()
    try:
        if run_id:
            entries = data.run_qc(run_id)
        elif sample:
            entries = data.sample_qc(sample)
        else:
            entries = [qc_from_item(i) for i in data.repos.quality.failing_in_project(str(project))]
    except NotFound as error:
        fail(str(error), ExitCode.NOT_FOUND)
    if as_json:
        emit_json([e.model_dump(mode="json") for e in entries])
    else:
        rows = []
        for e in entries:
            reasons = "; ".join(c.reason or c.metric for c in e.checks if c.verdict != "PASS")
            rows.append(
                {"sample": e.sample, "run": e.run_id, "verdict": e.verdict, "reasons": reasons}
                | {m: _fmt(e.metrics.get(m)) for m in SHOWN_METRICS}
            )
        click.echo(table(rows, ["sample", "run", "verdict", *SHOWN_METRICS, "reasons"]))
    if any(e.verdict == "FAIL" for e in entries):
        sys.exit(int(ExitCode.FAILED))


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"
