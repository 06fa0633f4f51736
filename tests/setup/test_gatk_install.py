"""scripts/install-gatk.sh: GATK from Maven Central, every jar checked, reused when present.

These run after the suite's own setup installed GATK (so Maven's local repository is warm and a fresh
install into a temporary folder copies, not downloads)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "install-gatk.sh"
LOCK = REPO / "requirements" / "gatk" / "jars.sha256"


def _install(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT)], env=dict(os.environ, **env), capture_output=True, text=True, timeout=600
    )


def _pom_version() -> str:
    pom = (REPO / "requirements" / "gatk" / "pom.xml").read_text()
    return re.search(r"<artifactId>gatk</artifactId>\s*<version>([^<]+)</version>", pom).group(1)


def test_a_second_install_reuses_the_verified_jars_and_the_launcher_runs_gatk(tmp_path: Path) -> None:
    done = _install({"SEQPIPE_GATK_BIN": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "present and verified" in done.stdout and "fetching" not in done.stdout
    version = subprocess.run([tmp_path / "gatk", "--version"], capture_output=True, text=True, check=True)
    assert f"(GATK) v{_pom_version()}" in version.stdout


def test_a_jar_whose_checksum_differs_stops_the_install_naming_the_artifact(tmp_path: Path) -> None:
    lines = LOCK.read_text().splitlines()
    target = next(i for i, line in enumerate(lines) if line.endswith("  htsjdk-4.2.0.jar"))
    lines[target] = "0" * 64 + "  htsjdk-4.2.0.jar"
    lock = tmp_path / "jars.sha256"
    lock.write_text("\n".join(lines) + "\n")
    tools = tmp_path / "tools"
    done = _install(
        {"SEQPIPE_TOOLS": str(tools), "SEQPIPE_GATK_LOCK": str(lock), "SEQPIPE_GATK_BIN": str(tmp_path)}
    )
    assert done.returncode != 0
    assert "checksum of artifact htsjdk-4.2.0.jar" in done.stderr and "0" * 64 in done.stderr
    assert not (tools / f"gatk-{_pom_version()}").exists() and not (tmp_path / "gatk").exists()


def test_a_java_older_than_17_is_refused_with_the_version_found(tmp_path: Path) -> None:
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\n")
    java.chmod(0o755)
    done = _install({"JAVA_HOME": str(tmp_path / "jdk"), "SEQPIPE_GATK_BIN": str(tmp_path)})
    assert done.returncode != 0
    assert "needs Java 17 or newer" in done.stderr and "is Java 11" in done.stderr


def test_the_conda_env_pins_the_gatk_release_the_maven_install_fetches(repo: Path) -> None:
    env = yaml.safe_load((repo / "envs" / "gatk4.yaml").read_text())
    pins = [d for d in env["dependencies"] if isinstance(d, str) and "gatk4=" in d]
    assert pins == [f"bioconda::gatk4={_pom_version()}"]
