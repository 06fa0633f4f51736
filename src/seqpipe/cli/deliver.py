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
@click.option(
    "--expires",
    default="7d",
    show_default=True,
    help="Lifetime of the download links (max 7d; at most until the signing credentials expire).",
)
@click.option(
    "--recipient",
    help="A partner of the infra config (delivery.partners): the copies are tagged for it, and its "
    "account reads them with its own credentials, without links.",
)
@json_option
@reports_errors
def deliver(
    run_id: str, samples: tuple[str, ...], expires: str, recipient: str | None, as_json: bool
) -> None:
    """Copy RUN_ID's QC-approved CRAMs and VCFs to the delivery bucket, write a manifest with SHA-256
    checksums, and print presigned download links with their expiry.

    A link stops working when the credentials that signed it expire: links signed with temporary
    credentials (a role session, SSO) are capped at their expiry, and the output and the manifest say
    so. Exit code 3 for an unknown run, 4 when a requested sample did not pass QC or nothing is approved.

    \b
    Examples:
      seqpipe deliver RUN_42
      seqpipe deliver RUN_42 --sample NA12878 --expires 24h --json
      seqpipe deliver RUN_42 --recipient partner-lab
    """
    from seqpipe.aws.delivery import RECIPIENT_PATTERN, read_manifest, write_manifest
    from seqpipe.aws.delivery import deliver as copy_to_delivery
    from seqpipe.aws.links import MAX_SECONDS, CredentialsExpiring, presign
    from seqpipe.aws.read_model import NotFound, ReadModel

    seconds = parse_duration(expires)
    if seconds > MAX_SECONDS:
        fail(f"--expires {expires}: presigned links live at most 7 days", ExitCode.USAGE)
    if recipient is not None and not RECIPIENT_PATTERN.match(recipient):
        fail(f"--recipient {recipient}: a partner's name (lower-case letters, digits, '-')", ExitCode.USAGE)
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
    bucket = settings.delivery_bucket
    manifest_uri = copy_to_delivery(run_id, output_uri, approved, bucket, recipient)["manifest"]
    manifest = read_manifest(bucket, run_id) or {}
    try:
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
    except CredentialsExpiring as error:
        fail(f"the outputs were delivered, but no link was signed: {error}", ExitCode.REFUSED)
    expires_at = manifest_link.expires_at.isoformat(timespec="seconds")
    links = {"expires_at": expires_at, "capped_by": manifest_link.capped_by}
    # the manifest says until when the links handed out for it work, and why no longer
    extras = {key: manifest[key] for key in ("recipient",) if key in manifest}
    write_manifest(
        run_id, manifest["samples"], manifest["files"], bucket, manifest["created_at"], **extras, links=links
    )
    report = {
        "run_id": run_id,
        "samples": approved,
        "recipient": recipient,
        "manifest": manifest_uri,
        "manifest_url": manifest_link.url,
        "expires_at": expires_at,
        "expiry_capped_by": manifest_link.capped_by,
        "files": files,
    }
    if as_json:
        emit_json(report)
        return
    click.echo(table(files, ["sample", "uri", "size", "sha256"]))
    if recipient:
        click.echo(f"\ntagged for {recipient}: its account reads these objects with its own credentials")
    click.echo(f"\nmanifest: {manifest_uri}\n  {report['manifest_url']}")
    click.echo(f"\ndownload links (expire {expires_at}):")
    if manifest_link.capped_by:
        click.echo(f"  not after {expires}: {manifest_link.capped_by}")
    for f in files:
        click.echo(f"  {f['uri']}\n    {f['url']}")
