"""`seqpipe deliver`: copy a run's approved outputs to the delivery bucket and hand out links."""

from __future__ import annotations

import click

from seqpipe.cli.dashboard import parse_duration
from seqpipe.cli.output import ExitCode, emit_json, fail, json_option, reports_errors, table


@click.command()
@click.argument("run_id")
@click.option(
    "--sample",
    "samples",
    multiple=True,
    help="Deliver only these samples (each must have passed QC). Default: every sample that passed.",
)
@click.option("--expires", default="7d", show_default=True, help="Lifetime of the download links (max 7d).")
@json_option
@reports_errors
def deliver(run_id: str, samples: tuple[str, ...], expires: str, as_json: bool) -> None:
    """Copy RUN_ID's QC-approved CRAMs and VCFs to the delivery bucket, write a manifest with SHA-256
    checksums, and print presigned download links with their expiry.

    Exit code 3 for an unknown run, 4 when a requested sample did not pass QC or nothing is approved.

    \b
    Examples:
      seqpipe deliver RUN_42
      seqpipe deliver RUN_42 --sample NA12878 --expires 24h --json
    """
    from seqpipe.aws.delivery import deliver as copy_to_delivery
    from seqpipe.aws.delivery import read_manifest
    from seqpipe.aws.links import MAX_SECONDS, presign
    from seqpipe.aws.read_model import NotFound, ReadModel

    seconds = parse_duration(expires)
    if seconds > MAX_SECONDS:
        fail(f"--expires {expires}: presigned links live at most 7 days", ExitCode.USAGE)
    data = ReadModel.from_env()
    try:
        output_uri = data.output_location(run_id)
        verdicts = {q.sample: q.verdict for q in data.run_qc(run_id)}
    except NotFound as error:
        fail(str(error), ExitCode.NOT_FOUND)
    if not output_uri.startswith("s3://"):
        fail(
            f"run {run_id}'s outputs are not in S3 ({output_uri}); delivery copies from S3", ExitCode.REFUSED
        )
    approved = [s for s, verdict in sorted(verdicts.items()) if verdict == "PASS"]
    if samples:
        refused = [s for s in samples if verdicts.get(s) != "PASS"]
        if refused:
            states = ", ".join(f"{s} ({verdicts.get(s, 'not in run')})" for s in refused)
            fail(f"only samples that passed QC are delivered; refused: {states}", ExitCode.REFUSED)
        approved = list(samples)
    if not approved:
        fail(f"run {run_id} has no sample that passed QC; nothing to deliver", ExitCode.REFUSED)

    settings = data.settings
    manifest_uri = copy_to_delivery(run_id, output_uri, approved, settings.delivery_bucket)["manifest"]
    manifest = read_manifest(settings.delivery_bucket, run_id) or {}
    manifest_link = presign(manifest_uri, seconds)
    files = [
        {
            "sample": f["sample"],
            "uri": f["uri"],
            "size": f["size"],
            "sha256": f["sha256"],
            "url": presign(f["uri"], seconds).url,
        }
        for f in manifest.get("files", [])
    ]
    expires_at = manifest_link.expires_at.isoformat(timespec="seconds")
    report = {
        "run_id": run_id,
        "samples": approved,
        "manifest": manifest_uri,
        "manifest_url": manifest_link.url,
        "expires_at": expires_at,
        "files": files,
    }
    if as_json:
        emit_json(report)
        return
    click.echo(table(files, ["sample", "uri", "size", "sha256"]))
    click.echo(f"\nmanifest: {manifest_uri}\n  {report['manifest_url']}")
    click.echo(f"\ndownload links (expire {expires_at}):")
    for f in files:
        click.echo(f"  {f['uri']}\n    {f['url']}")
