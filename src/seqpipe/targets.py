"""Targeted sequencing: the targets BED (exome or panel) and the amplicon primer BED.

Both are read and checked when the workflow is parsed, before any job: a line with a contig the
reference lacks, an end before its start or past the contig's end stops the run with the file and
the line. Calling is restricted to the padded targets (merged, in reference order); coverage QC
reads the targets as given (merged).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from seqpipe.reference.contigs import contig_lengths
from seqpipe.reference.regions import Region, write_bed


class TargetsError(ValueError):
    """A BED file cannot be used; the message names the file and the line."""


def read_bed(path: str | Path, contigs: dict[str, int], what: str) -> list[Region]:
    """The intervals of a BED file (track, browser and '#' lines skipped), each checked against the
    reference; `what` names the config key in the error message."""
    regions: list[Region] = []
    problems: list[str] = []
    if not Path(path).is_file():
        raise TargetsError(f"{what}: {path}: file not found")
    with Path(path).open() as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.rstrip("\n").split("\t")
            problem = _line_problem(fields, contigs)
            if problem:
                problems.append(f"{what}: {path} line {number}: {problem}")
            else:
                regions.append((fields[0], int(fields[1]), int(fields[2])))
    if problems:
        raise TargetsError("\n".join(problems[:20] + [f"({len(problems)} bad lines)"] * (len(problems) > 20)))
    if not regions:
        raise TargetsError(f"{what}: {path}: no intervals")
    return regions


def _line_problem(fields: list[str], contigs: dict[str, int]) -> str:
    if len(fields) < 3:
        return f"{len(fields)} tab-separated columns, a BED line needs at least 3 (contig, start, end)"
    contig, start, end = fields[:3]
    if not (start.isdigit() and end.isdigit()):
        return f"start '{start}' and end '{end}' must be whole numbers >= 0"
    if contig not in contigs:
        return f"contig '{contig}' is not in the reference"
    if int(end) <= int(start):
        return f"end {end} is not after start {start}"
    if int(end) > contigs[contig]:
        return f"end {end} is past the end of {contig} ({contigs[contig]} bp)"
    return ""


def merge_regions(regions: Iterable[Region], contigs: dict[str, int], padding: int = 0) -> list[Region]:
    """Regions widened by `padding` (within their contig), sorted in reference order, overlaps merged."""
    order = {name: i for i, name in enumerate(contigs)}
    padded = sorted(
        ((c, max(0, s - padding), min(contigs[c], e + padding)) for c, s, e in regions),
        key=lambda r: (order[r[0]], r[1], r[2]),
    )
    merged: list[Region] = []
    for contig, start, end in padded:
        if merged and merged[-1][0] == contig and start <= merged[-1][2]:
            merged[-1] = (contig, merged[-1][1], max(end, merged[-1][2]))
        else:
            merged.append((contig, start, end))
    return merged


def write_targets(
    fai: str | Path, targets_bed: str | Path, padding: int, merged: str | Path, padded: str | Path
) -> None:
    """The run's two target BEDs: the targets merged (coverage QC) and padded (calling, on-target)."""
    contigs = contig_lengths(str(fai).removesuffix(".fai"))
    regions = read_bed(targets_bed, contigs, "targets.bed")
    write_bed(merged, merge_regions(regions, contigs))
    write_bed(padded, merge_regions(regions, contigs, padding))


def target_thresholds(config: dict) -> dict[str, dict[str, float]]:
    """The per-sample limits QC checks in this kind of run: qc.thresholds, where with targets
    targets.thresholds replace the genome-wide mean depth (meaningless for an exome or panel) and
    Ts/Tv (whole-genome limits: exomes run higher, a viral panel has a handful of SNVs), and in
    amplicon mode the duplicate rate is not measured."""
    thresholds = dict(config.get("qc", {}).get("thresholds", {}))
    if config.get("targets"):
        thresholds.pop("mean_depth", None)
        thresholds.pop("tstv", None)
        thresholds |= config["targets"].get("thresholds", {})
    if config.get("amplicon"):
        thresholds.pop("duplicate_pct", None)
    return thresholds
