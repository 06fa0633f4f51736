"""GATK's GenomicsDB workspaces of joint genotyping, kept between runs so that a group that gains a sample
imports only the new sample's GVCF (rules/joint.smk, docs/usage.md "Joint calling").

A workspace holds one group's samples over one chunk's intervals. Beside GenomicsDB's own files it holds
RECORD: the intervals' digest and, per imported sample, its GVCF's size and modification time. The
record is removed before GATK touches the workspace and written back after it succeeded, so a workspace
without one (new, or left by a failed import) is rebuilt. Standard library only: the step runs in the
GATK job's environment.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

RECORD = "seqpipe-imports.json"
# GATK's advice for many samples: read the GVCFs in batches, not all at once (memory grows with a batch)
BATCH_SIZE = 50


@dataclass(frozen=True)
class ImportPlan:
    """What a job does to the workspace: rebuild it from all GVCFs, or add `samples` to it."""

    rebuild: bool
    samples: dict[str, str]
    reason: str


def workspace_samples(workspace: Path) -> list[str]:
    """The samples a workspace holds, in GenomicsDB's row order (its callset.json)."""
    callsets = json.loads((workspace / "callset.json").read_text())["callsets"]
    return [c["sample_name"] for c in sorted(callsets, key=lambda c: int(c["row_idx"]))]


def gvcf_stamp(gvcf: str) -> dict[str, int]:
    """What says a GVCF was rewritten: its size and modification time (a digest would read gigabytes)."""
    stat = Path(gvcf).stat()
    return {"bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def intervals_digest(intervals: str) -> str:
    return hashlib.sha256(Path(intervals).read_bytes()).hexdigest()


def plan_import(workspace: Path, gvcfs: dict[str, str], intervals: str, kept: bool) -> ImportPlan:
    """Add the group's new samples to the workspace when the samples it holds are still in the group
    with the same GVCFs over the same intervals; otherwise rebuild it from every GVCF.
    `kept`: the workspace persists between runs (a local output folder; not S3 storage).
    """
    if not kept:
        return ImportPlan(True, gvcfs, "the workspace is not kept between runs (S3 storage)")
    record_path = workspace / RECORD
    if not record_path.is_file() or not (workspace / "callset.json").is_file():
        return ImportPlan(True, gvcfs, "no complete workspace from an earlier run")
    record = json.loads(record_path.read_text())
    held = workspace_samples(workspace)
    if set(held) != set(record["gvcfs"]):
        return ImportPlan(True, gvcfs, "the workspace and its record list different samples")
    if record["intervals"] != intervals_digest(intervals):
        return ImportPlan(True, gvcfs, "the chunk's intervals changed")
    left = [s for s in held if s not in gvcfs]
    if left:
        return ImportPlan(True, gvcfs, f"left the group: {', '.join(left)}")
    changed = [s for s in held if record["gvcfs"][s] != gvcf_stamp(gvcfs[s])]
    if changed:
        return ImportPlan(True, gvcfs, f"GVCF rewritten: {', '.join(changed)}")
    new = {s: g for s, g in gvcfs.items() if s not in held}
    return ImportPlan(False, new, f"new: {', '.join(new)}" if new else "no new sample")


def import_command(workspace: Path, plan: ImportPlan, intervals: str, heap_mb: int) -> list[str]:
    """GenomicsDBImport creating the workspace over `intervals`, or adding to it (it keeps its own)."""
    command = [
        "gatk",
        "--java-options",
        f"-Xmx{heap_mb}m",
        "GenomicsDBImport",
        "--batch-size",
        str(BATCH_SIZE),
    ]
    for gvcf in plan.samples.values():
        command += ["-V", gvcf]
    if plan.rebuild:
        # one array per contig of the chunk, not one per interval between N gaps
        return [
            *command,
            "-L",
            intervals,
            "--merge-input-intervals",
            "--genomicsdb-workspace-path",
            str(workspace),
        ]
    return [*command, "--genomicsdb-update-workspace-path", str(workspace)]


def update_workspace(
    workspace: Path, gvcfs: dict[str, str], intervals: str, kept: bool, heap_mb: int, receipt: Path
) -> ImportPlan:
    """Bring the workspace to hold exactly `gvcfs` (sample → GVCF) and write the job's receipt: what was
    imported and why, and the samples the workspace holds."""
    plan = plan_import(workspace, gvcfs, intervals, kept)
    print(
        f"GenomicsDB workspace {workspace}: {'rebuild' if plan.rebuild else 'update'} ({plan.reason})",
        file=sys.stderr,
    )
    if plan.rebuild:
        shutil.rmtree(workspace, ignore_errors=True)
        workspace.parent.mkdir(parents=True, exist_ok=True)  # under S3 storage nothing else made it
    else:
        (workspace / RECORD).unlink()
    if plan.samples:
        command = import_command(workspace, plan, intervals, heap_mb)
        print(shlex.join(command), file=sys.stderr, flush=True)
        subprocess.run(command, check=True)
    record = {"intervals": intervals_digest(intervals), "gvcfs": {s: gvcf_stamp(g) for s, g in gvcfs.items()}}
    (workspace / RECORD).write_text(json.dumps(record, indent=1) + "\n")
    receipt.write_text(
        json.dumps(
            {
                "workspace": str(workspace),
                "rebuilt": plan.rebuild,
                "reason": plan.reason,
                "imported": list(plan.samples),
                "samples": workspace_samples(workspace),
            },
            indent=1,
        )
        + "\n"
    )
    return plan


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=update_workspace.__doc__)
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--intervals", required=True, help="the chunk's BED")
    parser.add_argument("--receipt", type=Path, required=True)
    parser.add_argument("--heap-mb", type=int, required=True)
    parser.add_argument("--not-kept", action="store_true", help="the workspace does not persist: rebuild")
    parser.add_argument("gvcfs", nargs="+", metavar="SAMPLE=GVCF")
    args = parser.parse_args(argv)
    gvcfs = dict(pair.split("=", 1) for pair in args.gvcfs)
    update_workspace(args.workspace, gvcfs, args.intervals, not args.not_kept, args.heap_mb, args.receipt)


if __name__ == "__main__":
    main()
