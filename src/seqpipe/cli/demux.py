"""`seqpipe demux`: check a run folder and its sample sheet, or write a simulated run folder."""

from __future__ import annotations

from pathlib import Path

import click

from seqpipe.demux.errors import DemuxError


@click.group()
def demux() -> None:
    """Illumina run folders: validation before demultiplexing, simulated runs for tests and demos."""


@demux.command()
@click.argument("run_folder", type=click.Path(path_type=Path))
@click.option("--sample-sheet", type=click.Path(path_type=Path), help="Default: RUN_FOLDER/SampleSheet.csv.")
@click.option("--barcode-mismatches", type=click.IntRange(0, 3), default=1, show_default=True)
@click.option("--trust-filter-cluster-count", is_flag=True, help="Accept stale locs headers (see docs).")
def validate(
    run_folder: Path, sample_sheet: Path | None, barcode_mismatches: int, trust_filter_cluster_count: bool
) -> None:
    """Check RUN_FOLDER and its sample sheet as the pipeline does before any job; exit 1 on problems."""
    from seqpipe.demux.plan import load_plan

    config = {
        "run_folder": str(run_folder),
        "demux": {
            "sample_sheet": str(sample_sheet) if sample_sheet else None,
            "barcode_mismatches": barcode_mismatches,
            "trust_filter_cluster_count": trust_filter_cluster_count,
        },
    }
    try:
        plan = load_plan(config)
    except DemuxError as error:
        raise click.ClickException(str(error)) from None
    for lane in plan.lanes:
        summary = plan.check.lanes[lane.lane]
        click.echo(
            f"lane {lane.lane}: {len(lane.samples)} samples, {len(summary.tiles)} tiles, "
            f"{summary.clusters} clusters ({summary.passing_filter} PF), READ_STRUCTURE={lane.read_structure}"
        )
    click.echo(f"i5 (Index2): {plan.index2.why}")
    for fix in plan.check.locs_fixes:
        click.echo(
            f"stale locs header (will use the filter file's count {fix.clusters}): {fix.relative_path}"
        )
    click.echo(f"{plan.run_folder}: ready to demultiplex")


@demux.command("simulate-run")
@click.option(
    "--units",
    "units_tsv",
    type=click.Path(exists=True, path_type=Path),
    required=True,
    help="units.tsv whose read pairs become clusters (e.g. from `seqpipe simulate`).",
)
@click.option("--outdir", type=click.Path(path_type=Path), required=True, help="Run folder to write.")
@click.option(
    "--undetermined",
    type=click.IntRange(0),
    default=10,
    show_default=True,
    help="Clusters per lane whose barcode matches no sample.",
)
@click.option(
    "--index-hops",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Clusters per lane with the i7 of one sample and the i5 of another (needs two samples).",
)
@click.option(
    "--layout",
    type=click.Choice(["bcl", "novaseq-6000", "novaseq-x", "nextseq-2000"]),
    default="bcl",
    show_default=True,
    help="bcl: per-tile BCL, filter and locs (HiSeq era); novaseq-6000/novaseq-x/nextseq-2000: CBCL with "
    "s.locs as those instruments write it (NextSeq 2000 P1: one lane).",
)
def simulate_run(units_tsv: Path, outdir: Path, undetermined: int, index_hops: int, layout: str) -> None:
    """Write an Illumina run folder (base calls, filter, positions, RunInfo.xml, sample sheet) from units."""
    import functools

    from seqpipe.simulate.bcl_run_folder import RunFolderWriter, run_folder_from_units, write_run_folder
    from seqpipe.simulate.cbcl_run_folder import INSTRUMENTS, write_cbcl_run_folder

    write: RunFolderWriter = (
        write_run_folder
        if layout == "bcl"
        else functools.partial(write_cbcl_run_folder, instrument=INSTRUMENTS[layout])
    )
    try:
        written = run_folder_from_units(
            units_tsv, outdir, undetermined_per_lane=undetermined, index_hops_per_lane=index_hops, write=write
        )
    except ValueError as error:  # e.g. more units per sample than the instrument has lanes
        raise click.ClickException(str(error)) from None
    lanes = sorted({c.lane for c in written})
    click.echo(f"{outdir}: {len(written)} clusters in lanes {lanes}")
