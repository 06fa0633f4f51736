"""A small workflow directory like the checkout, for recorded runs of `seqpipe run --record` in the
engine and dashboard tests: the Snakefile, the pipeline's profiles, a config with a sample sheet."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def workflow_dir(path: Path, snakefile: str, samples: tuple[str, ...] = ("A", "B")) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "Snakefile").write_text(snakefile)
    shutil.copytree(REPO / "profiles", path / "profiles")
    (path / "samples.tsv").write_text("\n".join(("sample", *samples)) + "\n")
    (path / "config.yaml").write_text("samples: samples.tsv\noutdir: out\n")
    return path


def record_argv(seqpipe: Path | str, workdir: Path, run_id: str) -> list[str]:
    """`seqpipe run --record` of the workflow directory, on this machine's two cores."""
    return [str(seqpipe), "run", "--configfile", str(workdir / "config.yaml"), "--directory", str(workdir),
            "--cores", "2", "--record", run_id, "--project", "LAB"]  # fmt: skip
