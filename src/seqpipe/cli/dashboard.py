"""`seqpipe dashboard`: serve the web dashboard locally and issue its access tokens."""

from __future__ import annotations

import os
import secrets

import click

from seqpipe.cli.output import ExitCode, emit_json, fail, json_option, reports_errors

SECRET_VARIABLE = "SEQPIPE_DASHBOARD_SECRET"
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """'90s', '30m', '8h', '7d' → seconds."""
    number, unit = text[:-1], text[-1:]
    if unit not in DURATION_UNITS or not number.isdigit() or int(number) <= 0:
        raise click.BadParameter(f"{text!r}: use a positive number followed by s, m, h or d (e.g. 8h)")
    return int(number) * DURATION_UNITS[unit]


@click.group()
def dashboard() -> None:
    """Serve the web dashboard (runs, jobs, samples, QC, delivery) and issue access tokens."""


@dashboard.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--ttl", default="8h", show_default=True, help="Lifetime of the token printed at start-up.")
@reports_errors
def serve(host: str, port: int, ttl: str) -> None:
    """Run the dashboard with uvicorn; prints a sign-in token when no secret is configured.

    Tables and buckets come from the usual environment (METADATA_TABLE, JOBS_TABLE, QC_TABLE,
    *_BUCKET, AWS_ENDPOINT_URL for the local endpoint).
    """
    import uvicorn

    from seqpipe.web.app import create_app
    from seqpipe.web.auth import issue_token

    secret = os.environ.get(SECRET_VARIABLE) or secrets.token_urlsafe(32)
    behind_alb = os.environ.get("SEQPIPE_DASHBOARD_AUTH") == "alb"  # Cognito signs users in instead
    if SECRET_VARIABLE not in os.environ and not behind_alb:
        click.echo(f"{SECRET_VARIABLE} not set: using a random secret for this process only", err=True)
        token = issue_token(secret, os.environ.get("USER", "local"), parse_duration(ttl))
        click.echo(f"sign in at http://{host}:{port}/login with token:\n{token}", err=True)
    uvicorn.run(create_app(secret=secret), host=host, port=port, log_level="info")


@dashboard.command()
@click.option("--subject", default=lambda: os.environ.get("USER", "local"), help="Who the token is for.")
@click.option("--ttl", default="8h", show_default=True, help="Lifetime: e.g. 30m, 8h, 7d.")
@json_option
@reports_errors
def token(subject: str, ttl: str, as_json: bool) -> None:
    """Print a bearer token signed with $SEQPIPE_DASHBOARD_SECRET."""
    from seqpipe.web.auth import issue_token, verify_token

    secret = os.environ.get(SECRET_VARIABLE)
    if not secret:
        fail(
            f"{SECRET_VARIABLE} is not set: the token must be signed with the server's secret", ExitCode.USAGE
        )
    value = issue_token(secret, subject, parse_duration(ttl))
    if as_json:
        identity = verify_token(secret, value)
        emit_json({"token": value, "subject": identity.subject, "expires_at": identity.expires_at})
    else:
        click.echo(value)


@dashboard.command("demo-data")
@click.option("--runs", type=click.IntRange(1, 10_000), default=12, show_default=True)
@click.option("--samples-per-run", type=click.IntRange(1, 1000), default=6, show_default=True)
@click.option("--tasks-per-sample", type=click.IntRange(1, 100), default=4, show_default=True)
@click.option("--distinct-samples", type=click.IntRange(1), help="Re-use samples across runs (default: no).")
@json_option
@reports_errors
def demo_data(
    runs: int, samples_per_run: int, tasks_per_sample: int, distinct_samples: int | None, as_json: bool
):
    """Fill the tables (and delivery manifests) with demo runs, for trying the dashboard locally.

    Refuses to run without AWS_ENDPOINT_URL: demo content belongs in the local endpoint, not in AWS.
    Creates the tables and buckets when missing.
    """
    import boto3
    from botocore.exceptions import ClientError

    from seqpipe.aws.demo import DemoSize, write_demo
    from seqpipe.aws.settings import Settings
    from seqpipe.aws.tables import create_tables

    if not os.environ.get("AWS_ENDPOINT_URL"):
        fail("AWS_ENDPOINT_URL is not set: demo data only goes to a local endpoint", ExitCode.REFUSED)
    if distinct_samples is not None and distinct_samples < samples_per_run:
        fail("--distinct-samples must be at least --samples-per-run", ExitCode.USAGE)
    settings = Settings.from_env()
    dynamodb = boto3.client("dynamodb")
    existing = set(dynamodb.list_tables()["TableNames"])
    if not set(settings.table_names().values()) <= existing:
        create_tables(dynamodb, settings.table_names())
    s3 = boto3.client("s3")
    for bucket in (settings.raw_bucket, settings.processed_bucket, settings.delivery_bucket):
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError:
            s3.create_bucket(Bucket=bucket)
    size = DemoSize(runs, samples_per_run, tasks_per_sample, distinct_samples)
    counts = write_demo(size, settings)
    if as_json:
        emit_json(counts)
    else:
        click.echo(", ".join(f"{n} {role} items" for role, n in counts.items()))
