"""`seqpipe upload`: validate local files quickly, then send them to S3 (multipart, resumable)."""

from __future__ import annotations

from pathlib import Path

import click

from seqpipe.aws.settings import Settings
from seqpipe.cli.output import ExitCode, emit_json, fail, json_option, reports_errors
from seqpipe.storage.s3 import S3Uri
from seqpipe.transfer import (
    DEFAULT_PART_SIZE,
    MiB,
    ObjectExists,
    TransferError,
    UploadResult,
    object_exists,
    upload_file,
)


def destination_keys(sources: list[Path], destination: S3Uri) -> list[str]:
    """One key per source: the destination key itself for a single file, else prefix/<file name>."""
    if len(sources) == 1 and destination.key and not destination.key.endswith("/"):
        return [destination.key]
    return [destination.join(source.name).key for source in sources]


def _quick_problems(sources: list[Path], allow_other_formats: bool) -> list[dict]:
    """Files that fail quick validation. A file of no sequencing format (a config, a sample sheet) is
    a problem too unless allowed; a sequencing file that fails its checks always is."""
    from seqpipe.validators import validate

    problems = []
    for source in sources:
        result = validate(str(source))
        if result.valid or (allow_other_formats and result.format == "unknown"):
            continue
        problems.append(
            {"source": str(source), "format": result.format, "errors": [str(e) for e in result.errors]}
        )
    return problems


@click.command()
@click.argument(
    "sources", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--to",
    "destination",
    help="s3://bucket/prefix/ (or s3://bucket/key for one file). Default: the raw bucket ($RAW_BUCKET), "
    "under --prefix.",
)
@click.option(
    "--prefix", default="", help="Key prefix in the raw bucket when --to is not given, e.g. P1/S1/."
)
@click.option(
    "--part-size",
    type=click.IntRange(min=5),
    default=DEFAULT_PART_SIZE // MiB,
    show_default=True,
    help="Multipart part size in MiB (S3 minimum 5).",
)
@click.option(
    "--allow-other-formats",
    is_flag=True,
    help="Also send files that are no sequencing format (a config, a sample sheet). Sequencing files "
    "that fail validation are refused regardless.",
)
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on stderr.")
@json_option
@reports_errors
def upload(
    sources: tuple[Path, ...],
    destination: str | None,
    prefix: str,
    part_size: int,
    allow_other_formats: bool,
    progress: bool,
    as_json: bool,
) -> None:
    """Upload sequencing files to S3 after a quick validation of each.

    Every file is validated first (bounded reads: magic, header, EOF marker, index); if any fails,
    nothing is sent (exit 4). Existing objects are never overwritten (exit 4). An interrupted upload
    resumes when the command is run again: parts already in S3 with matching MD5s are kept.
    The object gets metadata sha256=<hex of the whole file>.

    \b
    Examples:
      seqpipe upload S1_R1.fastq.gz S1_R2.fastq.gz --to s3://my-raw/P1/RUN_42/S1/
      RAW_BUCKET=my-raw seqpipe upload --prefix P1/RUN_42/S1/ reads/S1_*.fastq.gz --json
      seqpipe upload config.yaml --to s3://my-raw/P1/RUN_42/config.yaml --allow-other-formats
    """
    files = list(sources)
    target = S3Uri.parse(destination) if destination else S3Uri(Settings.from_env().raw_bucket, prefix)
    keys = destination_keys(files, target)
    if len(set(keys)) != len(keys):
        fail(
            "two sources map to the same key (same file name); upload them to different prefixes",
            ExitCode.USAGE,
        )

    problems = _quick_problems(files, allow_other_formats)
    if problems:
        if as_json:
            emit_json({"uploaded": [], "refused": problems})
        for problem in problems:
            for error in problem["errors"]:
                click.echo(f"{problem['source']}: {error}", err=True)
        fail(f"{len(problems)} file(s) failed quick validation; nothing was uploaded", ExitCode.REFUSED)

    existing = [f"s3://{target.bucket}/{key}" for key in keys if _exists(target.bucket, key)]
    if existing:
        fail(f"already in S3, never overwritten: {', '.join(existing)}", ExitCode.REFUSED)

    results: list[UploadResult] = []
    for source, key in zip(files, keys, strict=True):
        results.append(_send(source, target.bucket, key, part_size * MiB, progress and not as_json))
    if as_json:
        emit_json({"uploaded": [_as_dict(r) for r in results], "refused": []})
    else:
        for r in results:
            resumed = f", {r.resumed_parts} of {r.parts} parts resumed" if r.resumed_parts else ""
            click.echo(f"{r.uri}  {r.size} bytes  sha256:{r.sha256}{resumed}")


def _exists(bucket: str, key: str) -> bool:
    import boto3

    return object_exists(boto3.client("s3"), bucket, key)


def _send(source: Path, bucket: str, key: str, part_size: int, show_progress: bool) -> UploadResult:
    try:
        if not show_progress:
            return upload_file(source, bucket, key, part_size=part_size)
        with click.progressbar(
            length=source.stat().st_size, label=source.name, file=click.get_text_stream("stderr")
        ) as bar:
            return upload_file(source, bucket, key, part_size=part_size, progress=bar.update)
    except ObjectExists as error:
        fail(str(error), ExitCode.REFUSED)
    except TransferError as error:
        fail(str(error), ExitCode.FAILED)


def _as_dict(result: UploadResult) -> dict:
    return {
        "source": result.source,
        "uri": result.uri,
        "size": result.size,
        "sha256": result.sha256,
        "etag": result.etag,
        "parts": result.parts,
        "resumed_parts": result.resumed_parts,
    }
