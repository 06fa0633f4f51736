"""Provenance of a run: tool versions and a manifest of configuration, inputs and outputs with checksums."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

# How each tool prints its version; run inside the tool's own environment (conda or PATH).
# Some tools exit non-zero when they print their usage, hence the '|| true'.
VERSION_COMMANDS: dict[str, str] = {
    "bwa": "(bwa 2>&1 || true) | sed -n 's/^Version: //p'",
    "bwa-mem2": "bwa-mem2 version 2>/dev/null | tail -1",
    "fastp": "fastp --version 2>&1 | sed 's/^fastp //'",
    "fastqc": "fastqc --version | sed 's/^FastQC v//'",
    "samtools": "samtools --version | sed -n '1s/^samtools //p'",
    "bcftools": "bcftools --version | sed -n '1s/^bcftools //p'",
    "freebayes": "freebayes --version | sed 's/^version: *v//'",
    "mosdepth": "mosdepth --version | sed 's/^mosdepth //'",
    "multiqc": "multiqc --version | sed 's/.*version //'",
    "picard": "($(command -v picard || command -v PicardCommandLine) MarkDuplicates --version 2>&1 || true)"
    " | tail -1",
    "gatk4": "gatk --version | sed -n 's/^The Genome Analysis Toolkit (GATK) v//p'",
    "deepvariant": "run_deepvariant --version | sed 's/^DeepVariant version //'",
    "glnexus": "(glnexus_cli --help 2>&1 || true) | sed -n 's/.*release v\\([^ ]*\\).*/\\1/p' | head -1",
}


def tools_used(config: Mapping[str, Any]) -> list[str]:
    tools = [config["aligner"], "fastp", "fastqc", "samtools", "bcftools", "mosdepth", "multiqc"]
    callers = config["calling"]["callers"]
    tools += [{"gatk": "gatk4"}.get(c, c) for c in callers if c != "bcftools"]
    if "deepvariant" in callers and config["calling"]["joint"]:
        tools.append("glnexus")
    if config["duplicates"]["tool"] == "picard":
        tools.append("picard")
    return tools


def write_versions_for_multiqc(version_files: Iterable[str | Path], path: str | Path) -> dict[str, str]:
    """Collect one-line version files (named <tool>.txt) into MultiQC's *_mqc_versions.yml format."""
    versions = {Path(f).stem: Path(f).read_text().strip() or "unknown" for f in version_files}
    Path(path).write_text(yaml.safe_dump({"seqpipe workflow": versions}, sort_keys=True))
    return versions


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_files(paths: Iterable[str | Path], names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Path (``names``, the workflow's paths, when given), size and SHA-256 of each file."""
    paths = list(paths)
    shown = [str(p) for p in paths] if names is None else list(names)
    return [
        {"path": name, "bytes": Path(p).stat().st_size, "sha256": file_digest(p)}
        for p, name in zip(paths, shown, strict=True)
    ]


CHECKSUM_FIELDS = ("role", "path", "bytes", "sha256")


def write_checksums(
    inputs: Iterable[str | Path],
    input_names: Iterable[str],
    outputs: Iterable[str | Path],
    output_names: Iterable[str],
    out: str | Path,
) -> None:
    """A sample's checksums, computed where its FASTQs and CRAM are, so that the run manifest only reads
    them: one tab-separated line per file, with its role (input or output) and workflow path."""
    rows = ["\t".join(CHECKSUM_FIELDS)]
    for role, paths, names in (("input", inputs, input_names), ("output", outputs, output_names)):
        rows += [f"{role}\t{d['path']}\t{d['bytes']}\t{d['sha256']}" for d in describe_files(paths, names)]
    Path(out).write_text("\n".join(rows) + "\n")


def read_checksums(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """role -> [{path, bytes, sha256}] of a checksum file."""
    lines = Path(path).read_text().splitlines()
    if not lines or tuple(lines[0].split("\t")) != CHECKSUM_FIELDS:
        raise ValueError(f"{path}: not a checksum file (header {lines[:1]!r})")
    by_role: dict[str, list[dict[str, Any]]] = {"input": [], "output": []}
    for line in lines[1:]:
        role, name, size, sha256 = line.split("\t")
        by_role[role].append({"path": name, "bytes": int(size), "sha256": sha256})
    return by_role


def workflow_revision(workflow_dir: str | Path) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(workflow_dir), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def build_manifest(
    config: Mapping[str, Any],
    versions: Mapping[str, str],
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    workflow_dir: str | Path,
    snakemake_version: str,
) -> dict[str, Any]:
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "workflow": {
            "revision": workflow_revision(workflow_dir),
            "snakemake": snakemake_version,
            "python": platform.python_version(),
        },
        "software_versions": dict(versions),
        "config": json.loads(json.dumps(config, default=str)),
        "inputs": inputs,
        "outputs": outputs,
    }


def write_run_manifest(
    config: Mapping[str, Any],
    version_files: Iterable[str | Path],
    sample_checksums: Iterable[str | Path],
    reference: dict[str, Any],
    outputs: Iterable[str | Path],
    output_names: Iterable[str],
    workflow_dir: str | Path,
    snakemake_version: str,
    path: str | Path,
) -> None:
    """The run's manifest. The large files' checksums (FASTQs, CRAMs, reference) were computed where those
    files were (``sample_checksums``, ``reference``); the other outputs are read here."""
    versions = {Path(f).stem: Path(f).read_text().strip() for f in version_files}
    recorded = [read_checksums(f) for f in sample_checksums]
    inputs = [row for r in recorded for row in r["input"]] + [reference]
    outputs = [row for r in recorded for row in r["output"]] + describe_files(outputs, output_names)
    manifest = build_manifest(config, versions, inputs, outputs, workflow_dir, snakemake_version)
    Path(path).write_text(json.dumps(manifest, indent=2) + "\n")
