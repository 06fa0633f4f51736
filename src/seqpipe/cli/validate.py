"""`seqpipe validate`: check sequencing files locally or on S3 before they enter the pipeline."""

from __future__ import annotations

import click

from seqpipe.cli.output import ExitCode, emit_json, json_option


@click.command()
@click.argument("locations", nargs=-1, required=True, metavar="PATH|s3://BUCKET/KEY...")
@click.option(
    "--deep", is_flag=True, help="Read every record (htslib via pysam); default: quick, bounded reads."
)
@click.option(
    "--reference",
    type=click.Path(exists=True, dir_okay=False),
    help="FASTA to decode reference-based CRAM records in --deep mode.",
)
@json_option
def validate(locations: tuple[str, ...], deep: bool, reference: str | None, as_json: bool) -> None:
    """Validate FASTQ(.gz), SAM/BAM/CRAM, VCF/BCF files and Illumina run folders.

    Quick mode reads the magic bytes, the header, the end-of-file marker and looks for an index: a few
    ranged reads whatever the size. Deep mode also streams every record. Exit code 0 when every file
    is valid, 1 when any is not, 3 when one does not exist.

    \b
    Examples:
      seqpipe validate sample.cram
      seqpipe validate --deep --json s3://raw/P1/RUN1/S1/S1_R1.fastq.gz
      seqpipe validate /data/runs/240101_A00123_0001_AHXXXX/
    """
    from seqpipe.validators import validate as run_validation

    results = [run_validation(location, deep=deep, reference=reference) for location in locations]
    if as_json:
        emit_json([r.to_dict() for r in results])
    else:
        for result in results:
            status = "valid" if result.valid else "INVALID"
            details = [
                result.format,
                f"{result.records} records" if result.records is not None else None,
                f"{result.bytes_read:,} bytes read",
            ]
            click.echo(f"{result.location}: {status} ({', '.join(d for d in details if d)})")
            header = result.header
            if header.samples:
                click.echo(
                    f"  samples: {', '.join(header.samples[:10])}{' …' if len(header.samples) > 10 else ''}"
                )
            if header.contigs:
                click.echo(f"  contigs: {len(header.contigs)}, with MD5: {len(header.reference_md5s)}")
            for issue in result.issues:
                click.echo(f"  {issue}")
    missing = any(e.message == "no such file" for r in results for e in r.errors)
    if missing:
        raise SystemExit(int(ExitCode.NOT_FOUND))
    if not all(r.valid for r in results):
        raise SystemExit(int(ExitCode.FAILED))
