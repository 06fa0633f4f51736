"""`seqpipe simulate`: write the seeded demo data set (reference, truth, reads, strata, sheets)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import click

from seqpipe import simulate as sim
from seqpipe.simulate.scenarios import SCENARIOS, simulate_scenario

# The pipeline's samples.tsv schema allows these names (they become file names and SM tags).
SAMPLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def _parse_samples(ctx: click.Context, param: click.Parameter, value: str) -> tuple[tuple[str, float], ...]:
    samples = []
    for item in value.split(","):
        name, sep, depth = item.strip().partition(":")
        try:
            if not sep or not name:
                raise ValueError
            depth_x = float(depth.rstrip("xX"))
        except ValueError:
            raise click.BadParameter(f"'{item}' is not NAME:DEPTH (e.g. S1:30,S2:20)", ctx, param) from None
        if not SAMPLE_NAME.fullmatch(name):
            raise click.BadParameter(f"sample name '{name}' must be letters, digits, '_' or '-'", ctx, param)
        if not 0 < depth_x <= 500:
            raise click.BadParameter(f"depth of {name} must be in (0, 500], got {depth}", ctx, param)
        samples.append((name, depth_x))
    return tuple(samples)


# targets of the human-like exome: enough on chrX and chrY to infer each sample's sex from them
HUMAN_EXOME_TARGETS = 60


@click.command()
@click.option(
    "--outdir", required=True, type=click.Path(path_type=Path), help="Directory to write (new or empty)."
)
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same bytes.")
@click.option(
    "--genome-size", default=1_000_000, show_default=True, type=click.IntRange(min=50_000), help="Total bp."
)
@click.option(
    "--contigs", default=3, show_default=True, type=click.IntRange(1, 50), help="Contigs chr1..chrN."
)
@click.option("--samples", "samples", default="S1:30,S2:20", show_default=True, callback=_parse_samples,
              help="Comma-separated NAME:DEPTH (fold coverage).")  # fmt: skip
@click.option(
    "--units-per-sample", default=2, show_default=True, type=click.IntRange(1, 8), help="Lanes per sample."
)
@click.option(
    "--snv-per-kb", default=sim.TruthRates.snv_per_kb, show_default=True, type=click.FloatRange(0, 20)
)
@click.option(
    "--indel-per-kb", default=sim.TruthRates.indel_per_kb, show_default=True, type=click.FloatRange(0, 5)
)
@click.option("--duplicates", default=0.04, show_default=True, type=click.FloatRange(0, 0.5),
              help="Share of read pairs copied as PCR duplicates.")  # fmt: skip
@click.option("--lowmap/--no-lowmap", default=True, show_default=True,
              help="Also write strata/lowmap.bed (reference tiles bwa maps with MAPQ < 10).")  # fmt: skip
@click.option("--layout", type=click.Choice(["default", "human-like"]), default="default", show_default=True,
              help="human-like: autosomes, chrX/chrY with PARs, ALT, decoy and unplaced contigs, a male "
              "and a female (docs/human-genomes.md); only --seed, --threads and "
              "--scenario exome apply.")  # fmt: skip
@click.option(
    "--threads", default=2, show_default=True, type=click.IntRange(min=1), help="Parallel tool runs."
)
@click.option(
    "--scenario",
    type=click.Choice(SCENARIOS),
    default=None,
    help="QC scenario with its own samples (at the first --samples depth): contaminated samples, "
    "a duplicate/swapped sample, exome-like or amplicon reads (docs/demo-data.md).",
)
def simulate(
    outdir: Path,
    seed: int,
    genome_size: int,
    contigs: int,
    samples: tuple[tuple[str, float], ...],
    units_per_sample: int,
    snv_per_kb: float,
    indel_per_kb: float,
    duplicates: float,
    lowmap: bool,
    layout: str,
    threads: int,
    scenario: str | None,
) -> None:
    """Generate a seeded demo data set: reference, strata BEDs, truth VCFs, 2×150 reads and sheets.

    units.tsv holds absolute FASTQ paths, so the pipeline can be run from any directory.
    """
    params = sim.SimulationParams(
        outdir=outdir,
        seed=seed,
        genome_size=genome_size,
        contigs=contigs,
        samples=samples,
        units_per_sample=units_per_sample,
        duplicate_share=duplicates,
        lowmap=lowmap,
        rates=sim.TruthRates(snv_per_kb=snv_per_kb, indel_per_kb=indel_per_kb),
        threads=threads,
    )
    started = time.monotonic()
    if layout == "human-like":
        if scenario not in (None, "exome"):
            # the other scenarios build on the default layout's genome and sheets
            raise click.UsageError(f"--layout human-like takes --scenario exome only, not {scenario}")
        _simulate_human_like(outdir, seed, threads, HUMAN_EXOME_TARGETS if scenario else 0)
        return
    try:
        if scenario:
            truth = simulate_scenario(scenario, params)
        else:
            summary = sim.simulate(params)
    except (ValueError, RuntimeError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    if scenario:
        click.echo(f"scenario {scenario} written to {outdir.resolve()}: {json.dumps(truth)}")
        return
    root = outdir.resolve()
    click.echo(f"demo data written to {root} in {time.monotonic() - started:.1f} s")
    for name in ("reference/genome.fa", "samples.tsv", "units.tsv", "truth/", "strata/", "manifest.json"):
        click.echo(f"  {root / name}")
    for sample, counts in summary["truth"].items():
        pairs = sum(u["pairs"] for u in summary["units"] if u["sample"] == sample)
        click.echo(
            f"  {sample}: {counts['snv']} SNVs, {counts['indel']} indels "
            f"({counts['str_indel']} in microsatellites), "
            f"{pairs} read pairs incl. {summary['duplicate_pairs'][sample]} duplicates"
        )


def _simulate_human_like(outdir: Path, seed: int, threads: int, exome_targets: int) -> None:
    from seqpipe.simulate.human_like import HumanLikeParams, simulate_human_like

    try:
        summary = simulate_human_like(
            HumanLikeParams(outdir=outdir, seed=seed, threads=threads, exome_targets=exome_targets)
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    root = outdir.resolve()
    click.echo(
        f"human-like data written to {root}; run it with: snakemake --configfile {root / 'config.yaml'}"
    )
    for sample, counts in summary["truth"].items():
        click.echo(
            f"  {sample} ({summary['sex'][sample]}): {counts['variants']} variants, {counts['het']} het, "
            f"{counts['hemizygous']} hemizygous"
        )
