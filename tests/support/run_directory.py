"""A self-contained run directory for the engine tests and the engine benchmark: what a login node
or the Batch head job works in.

It holds a copy of the workflow, the run's config and sheets with paths relative to it, and the
data under ``data/``. Remote engines ship only files below the working directory, and S3 storage
maps these relative paths to keys under the run's prefix.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import yaml

from seqpipe.tsv import read_tsv

# the workflow as the pipeline image holds it (docker/Dockerfile): the head job finds its profile here
WORKFLOW_PARTS = ("Snakefile", "rules", "scripts", "config", "envs", "profiles")


def make_run_dir(run_dir: Path, data: Path, workflow: Path, config: dict) -> Path:
    """Copy the workflow from ``workflow`` and a ``seqpipe simulate`` data set from ``data`` into
    ``run_dir``; write ``run.yaml`` from ``config`` plus the sheets and reference written here."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        src = workflow / part
        if src.is_dir():
            shutil.copytree(src, run_dir / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.is_file():
            shutil.copy2(src, run_dir / part)
    (run_dir / "data" / "reference").mkdir(parents=True)
    # only the FASTA: the workflow builds its own indices, as for a fresh reference
    shutil.copy2(data / "reference" / "genome.fa", run_dir / "data" / "reference" / "genome.fa")
    shutil.copytree(data / "reads", run_dir / "data" / "reads")
    # the known sites (BQSR, the identity site panel)
    shutil.copytree(data / "known_sites", run_dir / "data" / "known_sites")
    shutil.copy2(data / "samples.tsv", run_dir / "samples.tsv")
    header, rows = read_tsv(data / "units.tsv", ("fq1", "fq2"))
    units = [row for _, row in rows]
    for unit in units:
        for key in ("fq1", "fq2"):
            unit[key] = f"data/reads/{Path(unit[key]).name}"
    with (run_dir / "units.tsv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(units)
    run_config = {
        "samples": "samples.tsv",
        "units": "units.tsv",
        "outdir": "results",
        "reference": {"fasta": "data/reference/genome.fa"},
        **config,
    }
    (run_dir / "run.yaml").write_text(yaml.safe_dump(run_config, sort_keys=False))
    return run_dir
