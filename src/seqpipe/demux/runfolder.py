"""Is a run folder complete and self-consistent? Checked before any demultiplexing job starts.

A run is complete when the instrument (RTAComplete.txt) or the copy to storage (CopyComplete.txt) says so
and every cycle holds every tile; consistent when BCL, filter and position files agree on cluster counts.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from seqpipe.demux.basecalls import (
    FilterFile,
    bcl_cluster_count,
    cbcl_header,
    locs_with_count,
    read_filter,
    read_positions,
)
from seqpipe.demux.errors import DemuxError, Problem, raise_if_any
from seqpipe.demux.runinfo import RunInfo

COMPLETION_MARKERS = ("RTAComplete.txt", "CopyComplete.txt")
_FILTER = re.compile(r"^s_(\d+)_(\d+)\.filter$")


@dataclass(frozen=True)
class LocsFix:
    """A locs file whose header disagrees with the filter file, to be rewritten in a staged copy."""

    relative_path: Path
    clusters: int


@dataclass
class LaneSummary:
    lane: int
    tiles: list[int]
    clusters: int = 0
    passing_filter: int = 0


@dataclass
class RunCheck:
    lanes: dict[int, LaneSummary] = field(default_factory=dict)
    locs_fixes: list[LocsFix] = field(default_factory=list)


def basecalls_dir(run_folder: Path) -> Path:
    return run_folder / "Data" / "Intensities" / "BaseCalls"


def is_complete(run_folder: Path) -> bool:
    return any((run_folder / marker).is_file() for marker in COMPLETION_MARKERS)


def wait_for_completion(
    run_folder: Path, timeout_s: float, poll_s: float, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Block until the instrument marks the run complete, or fail after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while not is_complete(run_folder):
        if time.monotonic() >= deadline:
            raise DemuxError(
                f"{run_folder}: still incomplete after waiting {timeout_s:.0f} s "
                f"(neither {' nor '.join(COMPLETION_MARKERS)} appeared)"
            )
        sleep(poll_s)


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7': readable lists of missing cycles."""
    parts, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(str(start) if start == n else f"{start}-{n}")
            start = None
    return ", ".join(parts)


def _positions_file(run_folder: Path, lane: int, tile: int) -> Path | None:
    intensities = run_folder / "Data" / "Intensities"
    for candidate in (
        intensities / f"L{lane:03d}" / f"s_{lane}_{tile}.locs",
        intensities / f"L{lane:03d}" / f"s_{lane}_{tile}.clocs",
        intensities / "s.locs",  # one file for every tile (patterned flow cells)
    ):
        if candidate.is_file():
            return candidate
    return None


def _check_lane(
    run_folder: Path, run_info: RunInfo, lane: int, trust_filter: bool, check: RunCheck
) -> list[Problem]:
    lane_dir = basecalls_dir(run_folder) / f"L{lane:03d}"
    if not lane_dir.is_dir():
        return [Problem(lane_dir, f"lane {lane} has no base calls folder")]
    problems: list[Problem] = []
    filters = {int(m[2]): lane_dir / name for name in os.listdir(lane_dir) if (m := _FILTER.match(name))}
    expected_tiles = run_info.tiles_of_lane(lane)
    if expected_tiles:
        missing = sorted(set(expected_tiles) - set(filters))
        if missing:
            problems.append(Problem(lane_dir, f"tiles listed in RunInfo.xml have no filter file: {missing}"))
    if not filters:
        return [*problems, Problem(lane_dir, f"lane {lane}: no filter files (s_{lane}_<tile>.filter)")]
    summary = LaneSummary(lane, sorted(filters))
    counts: dict[int, FilterFile] = {}
    for tile, path in sorted(filters.items()):
        try:
            content = read_filter(path)
        except DemuxError as exc:
            problems.append(Problem(path, str(exc).split(": ", 1)[1]))
            continue
        counts[tile] = content
        summary.clusters += content.clusters
        summary.passing_filter += content.passing

    cycle_dirs = {c: lane_dir / f"C{c}.1" for c in range(1, run_info.total_cycles + 1)}
    missing_cycles = [c for c, d in cycle_dirs.items() if not d.is_dir()]
    if missing_cycles:
        problems.append(
            Problem(
                lane_dir,
                f"missing cycle folder(s) C{{n}}.1 for cycle(s) {_ranges(missing_cycles)} of "
                f"{run_info.total_cycles} (RunInfo.xml); the run is incomplete or was copied partially",
            )
        )
    for cycle, cycle_dir in cycle_dirs.items():
        if cycle in missing_cycles:
            continue
        problems += _check_cycle(cycle_dir, lane, counts)

    first_cycle = next((d for d in cycle_dirs.values() if d.is_dir()), None)
    if (
        first_cycle
        and _is_cbcl(first_cycle)
        and not (run_folder / "Data" / "Intensities" / "s.locs").is_file()
    ):
        return [
            *problems,
            Problem(
                run_folder / "Data" / "Intensities" / "s.locs",
                "missing: a CBCL run keeps the positions of every tile's clusters in this one file, and "
                "converters need it to name the reads (was the run copied without Data/Intensities/s.locs?)",
            ),
        ]
    for tile, content in counts.items():
        clusters = content.clusters
        positions_file = _positions_file(run_folder, lane, tile)
        if positions_file is None:
            problems.append(Problem(lane_dir, f"tile {tile}: no locs/clocs position file"))
            continue
        positions = read_positions(positions_file)
        if positions.declared == clusters:
            continue
        where = positions_file.relative_to(run_folder)
        mismatch = (
            f"header declares {positions.declared} clusters but the file holds {positions.stored} "
            f"positions, and the filter file {filters[tile].name} declares {clusters}"
        )
        if trust_filter and positions.stored >= clusters and positions_file.name != "s.locs":
            check.locs_fixes.append(LocsFix(where, clusters))
        elif trust_filter:
            problems.append(Problem(where, f"{mismatch}; too few positions to trust the filter file's count"))
        else:
            problems.append(
                Problem(
                    where,
                    f"cluster-count mismatch: {mismatch}. If the positions are right and only the header is "
                    "stale (e.g. a trimmed test run), set demux.trust_filter_cluster_count: true",
                )
            )
    check.lanes[lane] = summary
    return problems


def _is_cbcl(cycle_dir: Path) -> bool:
    return cycle_dir.is_dir() and any(cycle_dir.glob("L*_*.cbcl"))


def _check_cbcls(cycle_dir: Path, lane: int, counts: dict[int, FilterFile]) -> list[Problem]:
    """Every tile of the filter files in its surface's CBCL (tile 2101 in L00N_2.cbcl), with its clusters."""
    problems = []
    found: dict[int, tuple[Path, int, bool]] = {}
    for path in sorted(cycle_dir.glob(f"L{lane:03d}_*.cbcl")):
        try:
            header = cbcl_header(path)
            found.update({t.tile: (path, t.clusters, header.pf_excluded) for t in header.tiles})
        except DemuxError as exc:
            problems.append(Problem(path, str(exc).split(": ", 1)[1]))
    if problems:
        return problems  # a tile in a truncated file would be reported twice
    for tile, content in sorted(counts.items()):
        if tile not in found:
            expected = cycle_dir / f"L{lane:03d}_{tile // 1000}.cbcl"
            problems.append(
                Problem(
                    expected,
                    f"tile {tile} is missing from this CBCL (its filter file s_{lane}_{tile}.filter lists it)"
                    if expected.is_file()
                    else f"missing: no CBCL holds tile {tile} in cycle {cycle_dir.name[1:-2]}",
                )
            )
            continue
        path, clusters, non_pf_excluded = found[tile]
        expected_clusters = content.passing if non_pf_excluded else content.clusters
        if clusters != expected_clusters:
            which = "passing-filter clusters (non-PF excluded)" if non_pf_excluded else "clusters"
            problems.append(
                Problem(
                    path,
                    f"cluster-count mismatch for tile {tile}: the CBCL holds {clusters}, the filter file "
                    f"s_{lane}_{tile}.filter has {expected_clusters} {which}",
                )
            )
    return problems


def _check_cycle(cycle_dir: Path, lane: int, counts: dict[int, FilterFile]) -> list[Problem]:
    if _is_cbcl(cycle_dir):
        return _check_cbcls(cycle_dir, lane, counts)
    problems = []
    for tile, content in counts.items():
        clusters = content.clusters
        candidates = [cycle_dir / f"s_{lane}_{tile}.bcl", cycle_dir / f"s_{lane}_{tile}.bcl.gz"]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            problems.append(Problem(cycle_dir, f"tile {tile}: no BCL (s_{lane}_{tile}.bcl or .bcl.gz)"))
            continue
        try:
            declared = bcl_cluster_count(path)
        except DemuxError as exc:
            problems.append(Problem(path, str(exc).split(": ", 1)[1]))
            continue
        if declared != clusters:
            problems.append(
                Problem(path, f"cluster-count mismatch: BCL declares {declared}, the filter file {clusters}")
            )
    return problems


def check_run_folder(run_folder: Path, run_info: RunInfo, lanes: list[int], trust_filter: bool) -> RunCheck:
    if not run_folder.is_dir():
        raise DemuxError(f"{run_folder}: run folder not found")
    if not is_complete(run_folder):
        raise DemuxError(
            f"{run_folder}: the run is not complete: neither {' nor '.join(COMPLETION_MARKERS)} is present "
            "(the instrument may still be writing, or the copy was interrupted). Wait for it, or set "
            "demux.wait_for_completion: true to have the pipeline wait"
        )
    check = RunCheck()
    problems: list[Problem] = []
    for lane in lanes:
        problems += _check_lane(run_folder, run_info, lane, trust_filter, check)
    # Lanes share some files (s.locs): each finding once.
    raise_if_any(list(dict.fromkeys(problems)), f"run folder {run_folder} is incomplete or inconsistent")
    return check


def stage_run_folder(run_folder: Path, staged: Path, fixes: list[LocsFix]) -> None:
    """A copy of the run folder made of symlinks, except the locs files rewritten with a corrected header.

    The original stays untouched (it may be read-only, shared, or the lab's only copy).
    """
    fixed = {fix.relative_path: fix for fix in fixes}
    # Only the folders on the way to a fixed file are real; everything else links to the original.
    real_dirs = {parent for path in fixed for parent in path.parents if parent != Path(".")}

    def mirror(relative: Path) -> None:
        (staged / relative).mkdir(parents=True, exist_ok=True)
        for entry in sorted((run_folder / relative).iterdir()):
            rel = relative / entry.name
            target = staged / rel
            if rel in fixed:
                target.write_bytes(locs_with_count(entry, fixed[rel].clusters))
            elif rel in real_dirs:
                mirror(rel)
            else:
                target.symlink_to(entry.resolve())

    mirror(Path("."))
