"""The workflow passes Snakemake's linter and is formatted with snakefmt; the Python is ruff-clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import REPO, fake_config, snakemake

BIN = Path(sys.executable).parent
SNAKEFILES = ["Snakefile", *sorted(str(p.relative_to(REPO)) for p in (REPO / "rules").glob("*.smk"))]


def test_snakemake_lint_is_clean(tmp_path: Path, fake_inputs: dict) -> None:
    config = fake_config(
        tmp_path,
        fake_inputs,
    )
    result = snakemake("--configfile", str(config), "--lint", workdir=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


def test_snakefiles_are_snakefmt_formatted() -> None:
    result = subprocess.run(
        [str(BIN / "snakefmt"), "--check", *SNAKEFILES], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_python_is_ruff_clean() -> None:
    result = subprocess.run(
        [str(BIN / "ruff"), "check", "src", "tests", "benchmarks", "scripts", "infra"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout
