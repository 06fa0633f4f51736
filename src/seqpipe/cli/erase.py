"""`seqpipe erase`: GDPR erasure of one sample across buckets and tables, with an audit record."""

from __future__ import annotations

import click

from seqpipe.cli.output import ExitCode, emit_json, fail, json_option, reports_errors
from seqpipe.output_tree import SAMPLE_ID


@click.command()
@click.argument("sample")
@click.option(
    "--reason", required=True, help="Why (e.g. 'consent withdrawn, ticket 123'); kept in the audit record."
)
@click.option("--dry-run", is_flag=True, help="Show what would be erased; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (scripts).")
@json_option
@reports_errors
def erase(sample: str, reason: str, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Erase SAMPLE everywhere: every version of its objects in the raw, processed and delivery buckets,
    its items in the three tables, its entries in run items, QC summaries and delivery manifests.

    Files that mix samples and cannot be cut (MultiQC report, joint VCFs of its group, run manifest)
    are removed too and listed for a re-run. An audit record is written first (STARTED) and closed
    at the end (SUCCEEDED or FAILED); who asked is the AWS identity you run as.

    Asks you to type the sample id unless --yes. Exit code 1 when anything could not be erased (it
    is listed), 3 when nothing belongs to the sample, 4 when the confirmation does not match or a
    run of the sample is still SUBMITTED or RUNNING.

    \b
    Examples:
      seqpipe erase NA12878 --reason "consent withdrawn (ticket 812)" --dry-run
      seqpipe erase NA12878 --reason "consent withdrawn (ticket 812)"
    """
    from seqpipe.aws.erasure import ErasureRefused, ensure_settled, erase_sample, plan_erasure
    from seqpipe.aws.settings import Settings

    if not SAMPLE_ID.match(sample):
        fail(f"{sample!r} is not a sample id (letters, digits, '_' and '-')", ExitCode.USAGE)
    settings = Settings.from_env()
    plan = plan_erasure(sample, settings)
    if plan.empty:
        fail(f"unknown sample {sample!r}: nothing belongs to it in the tables or buckets", ExitCode.NOT_FOUND)
    if dry_run:
        if as_json:
            emit_json({"dry_run": True, **plan.summary(), "objects": plan.object_uris})
        else:
            _describe(plan)
        return
    try:
        ensure_settled(plan)
    except ErasureRefused as refused:
        fail(str(refused), ExitCode.REFUSED)
    if not yes:
        _describe(plan)
        typed = click.prompt(
            f"Type the sample id ({sample}) to erase it", default="", show_default=False, err=True
        )
        if typed != sample:
            fail("confirmation did not match; nothing was erased", ExitCode.REFUSED)
    outcome = erase_sample(plan, reason, settings)
    if as_json:
        emit_json({"dry_run": False, **outcome.__dict__})
    else:
        click.echo(
            f"erasure {outcome.erasure_id} of {sample}: {outcome.status} "
            f"({len(outcome.erased['objects'])} objects erased, {len(outcome.remaining)} left)"
        )
        click.echo(f"requested by {outcome.requested_by}")
        for uri in outcome.erased["regenerate"]:
            click.echo(f"  removed, mixes samples (re-run the run without {sample}): {uri}")
    for left in outcome.remaining:
        click.echo(f"not erased: {left['what']}: {left['error']}", err=True)
    if outcome.remaining:
        raise SystemExit(ExitCode.FAILED)


def _describe(plan) -> None:
    summary = plan.summary()
    click.echo(f"sample {plan.sample} in runs: {', '.join(summary['runs']) or '-'}", err=True)
    for run, status in summary["blocked_by"].items():
        click.echo(f"  run {run} is {status}: erasure is refused until it has finished", err=True)
    click.echo(f"  objects (every version): {summary['objects']}", err=True)
    for uri in plan.object_uris:
        click.echo(f"    {uri}", err=True)
    for table, count in summary["items"].items():
        click.echo(f"  {table}: {count} items", err=True)
    click.echo(f"  run items losing the sample: {', '.join(summary['run_items_updated']) or '-'}", err=True)
    for uri in summary["rewritten"]:
        click.echo(f"  rewritten without the sample: {uri}", err=True)
    for uri in summary["regenerate"]:
        click.echo(f"  removed, mixes samples (re-run without the sample): {uri}", err=True)
    for uri in summary["retained"]:
        click.echo(f"  kept: raw run folder holding every sample of its run: {uri}", err=True)
