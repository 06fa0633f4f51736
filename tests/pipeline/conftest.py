"""Pipeline fixtures: tiny fake inputs for DAG tests, a generated data set and one real run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pysam
import pytest
import yaml
from workflow_layout import fake_inputs as write_fake_inputs

from seqpipe.accuracy import Evaluation, evaluate
from seqpipe.execution.command import snakemake_argv, workflow_environment
from seqpipe.simulate import SimulationParams, simulate
from seqpipe.simulate.variants import TruthRates

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = str(Path(sys.executable).parent)
# F1 floors of every caller on the demo data, against the simulated truth
FLOORS = {"SNV": 0.99, "indel": 0.95}


def snakemake(*args: str, workdir: Path = REPO, timeout: int = 1200) -> subprocess.CompletedProcess:
    """Run the repo's workflow the way a user does (the local engine's command, with its profile), with
    the venv's tools first on PATH."""
    workflow = ["--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir)]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            *snakemake_argv("local", profiles=REPO / "profiles", extra=[*workflow, *args]),
        ],
        capture_output=True,
        text=True,
        env=workflow_environment(),
        timeout=timeout,
        cwd=workdir,
    )


def write_config(path: Path, **settings: object) -> Path:
    path.write_text(yaml.safe_dump(settings))
    return path


def run_workflow(
    base: Path, data: Path, outdir: str = "results", reference: Path | None = None, **settings: object
) -> PipelineRun:
    """The workflow on the sheets in `data` (reference: data/reference/genome.fa unless given) into
    BASE/OUTDIR, its config written as BASE/OUTDIR.yaml; asserts that it completed."""
    config = write_config(
        base / f"{outdir}.yaml",
        samples=str(data / "samples.tsv"),
        units=str(data / "units.tsv"),
        reference={"fasta": str(reference or data / "reference" / "genome.fa")},
        outdir=str(base / outdir),
        **settings,
    )
    return _completed_run(base, data, config, base / outdir)


def run_from_copy(
    source: PipelineRun,
    base: Path,
    leave_out: tuple[str, ...] = (),
    forcerun: tuple[str, ...] = (),
    **settings: object,
) -> PipelineRun:
    """The workflow with `source`'s config, its top-level `settings` replaced, into BASE/results: a copy
    of `source`'s results without the `leave_out` directories, so that it runs only the jobs the new
    settings add. Without Snakemake's records of the source run a copy is judged by its times alone, and
    an output whose inputs are left out stays up to date: `forcerun` names the rules to run again (and
    with them every job downstream). Asserts that it completed."""
    outdir = base / "results"
    shutil.copytree(source.outdir, outdir)  # copy2: the copies keep their times, so they stay up to date
    for relative in leave_out:
        shutil.rmtree(outdir / relative)
    settings = {**yaml.safe_load(source.config.read_text()), "outdir": str(outdir), **settings}
    config = write_config(base / "results.yaml", **settings)
    return _completed_run(base, source.data, config, outdir, *(("--forcerun", *forcerun) if forcerun else ()))


def _completed_run(base: Path, data: Path, config: Path, outdir: Path, *args: str) -> PipelineRun:
    result = snakemake("--configfile", str(config), "--cores", "2", *args, workdir=base)
    assert result.returncode == 0, result.stderr[-5000:]
    return PipelineRun(data, outdir, config, result)


def fake_config(tmp_path: Path, fake_inputs: dict[str, Path], **settings: object) -> Path:
    """TMP_PATH/config.yaml naming the fake inputs' sheets and reference, plus `settings`."""
    return write_config(
        tmp_path / "config.yaml",
        samples=str(fake_inputs["samples"]),
        units=str(fake_inputs["units"]),
        reference={"fasta": str(fake_inputs["reference"])},
        **settings,
    )


@pytest.fixture
def fake_inputs(tmp_path: Path) -> dict[str, Path]:
    """Sheets, a two-contig reference and empty FASTQs: enough for dry runs, which read no data."""
    return write_fake_inputs(tmp_path)


@dataclass
class PipelineRun:
    data: Path
    outdir: Path
    config: Path
    result: subprocess.CompletedProcess

    def path(self, relative: str) -> Path:
        return self.outdir / relative

    def accuracy(self, sample: str, caller: str, pass_only: bool = False) -> Evaluation:
        """The caller's VCF of `sample` against the simulated truth."""
        return evaluate(
            self.data / "truth" / f"{sample}.vcf.gz",
            self.path(f"vcf/{sample}.{caller}.vcf.gz"),
            self.data / "reference" / "genome.fa",
            sample=sample,
            pass_only=pass_only,
        )

    def assert_meets_floors(self, sample: str, caller: str) -> None:
        result = self.accuracy(sample, caller)
        for kind, floor in FLOORS.items():
            assert result.metrics["all"][kind].f1 >= floor, result.table()

    def assert_vcf_contract(self, sample: str, caller: str) -> None:
        """Valid, indexed, normalized (biallelic records, sorted) and soft-filtered with the defaults
        (min_qual 20, min_depth 5): the contract of every caller's vcf/{sample}.{caller}.vcf.gz."""
        vcf = self.path(f"vcf/{sample}.{caller}.vcf.gz")
        subprocess.run(["bcftools", "view", "-h", str(vcf)], check=True, capture_output=True)
        with pysam.VariantFile(str(vcf)) as variants:
            assert {"LowQual", "LowDepth", "RefCall"} <= set(variants.header.filters)
            records = list(variants)
            assert next(variants.fetch("chr2", 0, 50_000), None) is not None
        assert all(len(r.alts or ()) == 1 for r in records)  # norm -m-: multiallelic sites are split
        positions = [r.pos for r in records if r.chrom == "chr1"]
        assert positions == sorted(positions)
        for record in records:
            assert ("LowQual" in record.filter) == (record.qual < 20)
            assert ("LowDepth" in record.filter) == (record.info["DP"] < 5)


@pytest.fixture(scope="session")
def generated_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300 kb genome with its difficult regions, S1 at 30x and S2 at 20x, two lanes each."""
    data = tmp_path_factory.mktemp("pipeline") / "data"
    simulate(
        SimulationParams(
            outdir=data,
            seed=11,
            genome_size=300_000,
            samples=(("S1", 30.0), ("S2", 20.0)),
            units_per_sample=2,
            # denser indels than the default, so the indel F1 floor stands on ~120 indels, not ~40
            rates=TruthRates(indel_per_kb=0.4),
        )
    )
    return data


@pytest.fixture(scope="session")
def pipeline_run(generated_data: Path) -> PipelineRun:
    """One real end-to-end run of the workflow (both callers, joint calling on) shared by the e2e tests."""
    outdir = generated_data.parent / "results"
    config = write_config(
        generated_data.parent / "config.yaml",
        samples=str(generated_data / "samples.tsv"),
        units=str(generated_data / "units.tsv"),
        reference={"fasta": str(generated_data / "reference" / "genome.fa")},
        outdir=str(outdir),
        calling={"callers": ["bcftools", "freebayes"], "scatter": 3, "joint": True},
    )
    # Started as a user who has not activated the venv would: `seqpipe run` by its path, from the
    # checkout, with a PATH that has the Debian tools but not the venv's (multiqc, snakemake).
    command = [str(Path(VENV_BIN) / "seqpipe"), "run", "--configfile", str(config), "--cores", "2", "--",
               "--snakefile", str(REPO / "Snakefile"), "--directory", str(generated_data.parent)]  # fmt: skip
    result = subprocess.run(
        command, capture_output=True, text=True, env=shell_without_venv(), timeout=1200, cwd=REPO
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return PipelineRun(generated_data, outdir, config, result)


def shell_without_venv() -> dict[str, str]:
    """This environment as a shell that has not activated the venv has it."""
    path = [entry for entry in os.environ["PATH"].split(os.pathsep) if entry != VENV_BIN]
    env = {name: value for name, value in os.environ.items() if name != "VIRTUAL_ENV"}
    return env | {"PATH": os.pathsep.join(path)}
