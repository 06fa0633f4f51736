"""`seqpipe erase`: GDPR erasure of one sample across buckets and tables, with an audit record."""

from __future__ import annotations

import getpass
import json

import click

from seqpipe.cli.output import ExitCode, emit_json, fail, json_option, reports_errors


@click.command()
@click.argument("sample")
@click.option(
    "--reason", required=True, help="Why (e.g. 'consent withdrawn, ticket 123'); kept in the audit record."
)
@click.option(
    "--requested-by", default=getpass.getuser, show_default="current user", help="Who asked for it."
)
@click.option("--dry-run", is_flag=True, help="Show what would be erased; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (scripts).")
@json_option
@reports_errors
def erase(sample: str, reason: str, requested_by: str, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Erase SAMPLE everywhere: every version of its objects in the raw, processed and delivery buckets,
    its items in the three tables, its entries in delivery manifests; then write an audit record.

    Files that mix samples (joint VCFs, MultiQC reports) are kept and listed for re-generation.
    Asks you to type the sample id unless --yes. Exit code 3 when nothing belongs to the sample,
    4 when the confirmation does not match.

    \b
    Examples:
      seqpipe erase NA12878 --reason "consent withdrawn (ticket 812)" --dry-run
      seqpipe erase NA12878 --reason "consent withdrawn (ticket 812)"
    """
    from seqpipe.aws.erasure import erase_sample, plan_erasure
    from seqpipe.aws.settings import Settings

    settings = Settings.from_env()
    plan = plan_erasure(sample, settings)
    if plan.empty:
        fail(f"unknown sample {sample!r}: nothing belongs to it in the tables or buckets", ExitCode.NOT_FOUND)
    summary = plan.summary()
    if dry_run:
        emit_json({"dry_run": True, **summary, "objects": plan.objects}) if as_json else _describe(plan)
        return
    if not yes:
        _describe(plan)
        typed = click.prompt(
            f"Type the sample id ({sample}) to erase it", default="", show_default=False, err=True
        )
        if typed != sample:
            fail("confirmation did not match; nothing was erased", ExitCode.REFUSED)
    record = erase_sample(plan, requested_by, reason, settings)
    if as_json:
        emit_json({"dry_run": False, "audit": record.__dict__})
    else:
        click.echo(
            f"erased {sample}: {len(record.object_uris)} objects, items {json.dumps(summary['items'])}"
        )
        click.echo(f"audit record written at {record.erased_at} (requested by {requested_by})")


def _describe(plan) -> None:
    summary = plan.summary()
    click.echo(f"sample {plan.sample} in runs: {', '.join(plan.runs) or '-'}", err=True)
    click.echo(f"  objects (all versions): {summary['objects']}", err=True)
    for uri in plan.objects:
        click.echo(f"    {uri}", err=True)
    for table, count in summary["items"].items():
        click.echo(f"  {table}: {count} items", err=True)
    click.echo(f"  runs losing the sample from their list: {summary['run_items_updated']}", err=True)
    click.echo(f"  delivery manifests rewritten: {summary['manifests_rewritten']}", err=True)
    for uri in plan.shared_retained:
        click.echo(f"  kept (mixes samples; re-generate without it): {uri}", err=True)
