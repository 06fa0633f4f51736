"""`seqpipe accuracy`: SNV/indel precision, recall, F1 and genotype-aware F1 of a VCF against a truth VCF."""

from __future__ import annotations

import json
from pathlib import Path

import click

from seqpipe.accuracy import AccuracyInputError, evaluate, strata_in_dir


def _parse_strata(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, Path]:
    strata = {}
    for value in values:
        name, sep, bed = value.partition("=")
        if not sep or not name or not bed:
            raise click.BadParameter(f"'{value}' is not NAME=BED (e.g. segdup=strata/segdup.bed)", ctx, param)
        strata[name] = Path(bed)
    return strata


@click.command()
@click.option(
    "--truth", required=True, type=click.Path(path_type=Path), help="Truth VCF (bgzipped or plain)."
)
@click.option("--query", required=True, type=click.Path(path_type=Path), help="VCF to assess.")
@click.option("--reference", required=True, type=click.Path(path_type=Path), help="Reference FASTA of both.")
@click.option("--sample", default=None, help="Sample to compare (needed when a VCF has several).")
@click.option("--strata", "strata", multiple=True, callback=_parse_strata, metavar="NAME=BED",
              help="A stratum BED (padded 5 bp); repeat for more.")  # fmt: skip
@click.option("--strata-dir", type=click.Path(path_type=Path), default=None,
              help="Use every *.bed in this directory as a stratum, named by file stem.")  # fmt: skip
@click.option("--min-qual", type=float, default=None, help="Ignore query calls with QUAL below this.")
@click.option("--pass-only", is_flag=True, help="Ignore query calls whose FILTER is not PASS.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def accuracy(
    truth: Path,
    query: Path,
    reference: Path,
    sample: str | None,
    strata: dict[str, Path],
    strata_dir: Path | None,
    min_qual: float | None,
    pass_only: bool,
    as_json: bool,
) -> None:
    """Compare QUERY to TRUTH after `bcftools norm -f REFERENCE -m- -a`: per type (SNV, indel) TP, FP, FN,
    precision, recall, F1 and F1_gt (zygosity must match too), for all calls and per stratum."""
    try:
        all_strata = {**(strata_in_dir(strata_dir) if strata_dir else {}), **strata}
        result = evaluate(truth, query, reference, sample, all_strata, min_qual, pass_only)
    except AccuracyInputError as exc:
        raise click.ClickException(str(exc)) from exc
    for repair in result.repairs:
        click.echo(f"warning: {repair}", err=True)
    click.echo(json.dumps(result.as_dict(), indent=2) if as_json else result.table())
