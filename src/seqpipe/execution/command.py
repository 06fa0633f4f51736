"""The one Snakemake command line per engine, shared by the docs, the tests, the benchmark and the
AWS Batch head job (so the Step Functions run is the command that is tested here)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

# engine -> profile directory under profiles/; "s3" is a local run with S3 as default storage
PROFILES = {"local": "local", "slurm": "slurm", "s3": "local", "aws-batch": "aws-batch"}
STORAGE_ENGINES = frozenset({"s3", "aws-batch"})


def snakemake_argv(
    engine: str,
    *,
    profiles: Path | str = "profiles",
    configfile: Path | str | None = None,
    storage_prefix: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """``snakemake`` arguments that run the unchanged workflow on ``engine``.

    ``storage_prefix`` (``s3://bucket/key-prefix``) is required for the engines that keep every file
    in S3; it is per run, so it is never part of a profile.
    """
    if engine not in PROFILES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {sorted(PROFILES)}")
    argv = ["snakemake", "--profile", str(Path(profiles) / PROFILES[engine])]
    if configfile is not None:
        argv += ["--configfile", str(configfile)]
    if engine in STORAGE_ENGINES:
        if not storage_prefix or not storage_prefix.startswith("s3://"):
            raise ValueError(
                f"engine {engine!r} needs storage_prefix='s3://bucket/prefix', got {storage_prefix!r}"
            )
        argv += ["--default-storage-provider", "s3", "--default-storage-prefix", storage_prefix.rstrip("/")]
    elif storage_prefix is not None:
        raise ValueError(f"engine {engine!r} uses the local file system; storage_prefix is not allowed")
    return argv + list(extra)


def workflow_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`environ` (default: this process's) with this interpreter's bin folder first on PATH.

    The workflow's shell commands call the venv's tools (multiqc, snakemake's own helpers) by name; a
    user who starts `.venv/bin/seqpipe run` from a shell that has not activated the venv has them
    nowhere else. Not resolved: a venv's python is a symlink to the system one, whose folder lacks them.
    """
    env = dict(os.environ if environ is None else environ)
    venv_bin = str(Path(sys.executable).parent)
    rest = [entry for entry in env.get("PATH", "").split(os.pathsep) if entry and entry != venv_bin]
    env["PATH"] = os.pathsep.join([venv_bin, *rest])
    return env
