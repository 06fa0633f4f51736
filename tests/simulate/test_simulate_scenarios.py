"""`seqpipe simulate --scenario`: the reads of each QC scenario are what its truth says."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pysam
import pytest
from click.testing import CliRunner

from seqpipe.cli.simulate import simulate as simulate_cli
from seqpipe.simulate import SimulationParams
from seqpipe.simulate.scenarios import simulate_scenario


def _read1(data: Path, sample: str, mate: int = 1) -> list[str]:
    with gzip.open(data / "reads" / f"{sample}_L001_R{mate}.fastq.gz", "rt") as fh:
        return [line.strip() for line in list(fh)[1::4]]


def _pairs(data: Path, sample: str) -> list[tuple[str, str]]:
    """Read pairs by their sequences (one read alone may match another sample's by chance)."""
    return list(zip(_read1(data, sample), _read1(data, sample, 2), strict=True))


def _params(tmp_path: Path, depth: float) -> SimulationParams:
    return SimulationParams(
        outdir=tmp_path / "data", seed=2, genome_size=60_000, samples=(("S", depth),), lowmap=False
    )


def test_contaminated_samples_carry_the_donors_reads_at_their_share(tmp_path: Path) -> None:
    truth = simulate_scenario("contamination", _params(tmp_path, 10))
    data = tmp_path / "data"
    donor = set(_pairs(data, truth["donor"]))
    for sample, share in truth["contamination"].items():
        reads = _pairs(data, sample)
        assert abs(sum(r in donor for r in reads) / len(reads) - share) < 0.003
    sheet = (data / "samples.tsv").read_text().split()
    assert {"X0", "X2", "X5", "X10", "D"} <= set(sheet)


def test_a_sample_sequenced_twice_shares_no_read_but_all_its_truth(tmp_path: Path) -> None:
    simulate_scenario("identity", _params(tmp_path, 10))
    data = tmp_path / "data"
    first, second = set(_pairs(data, "P1")), set(_pairs(data, "P1b"))
    assert len(first) > 1000 and len(second) > 1000
    assert len(first & second) < 0.05 * len(first)  # only the simulated PCR duplicates of one molecule
    assert (data / "truth" / "P1b.vcf.gz").read_bytes() == (data / "truth" / "P1.vcf.gz").read_bytes()


def test_amplicon_reads_start_at_their_primers(tmp_path: Path) -> None:
    truth = simulate_scenario("amplicon", _params(tmp_path, 50))["amplicon"]
    data = tmp_path / "data"
    with pysam.FastaFile(str(data / "reference" / "genome.fa")) as fasta:
        rows = [line.split("\t") for line in (data / "primers.bed").read_text().splitlines()]
        primers = {name: fasta.fetch(chrom, int(start), int(end)) for chrom, start, end, name, *_ in rows}
    left = {seq for name, seq in primers.items() if name.endswith("LEFT")}
    reads = _read1(data, "S")
    assert len(reads) == truth["amplicons"] * truth["pairs_per_amplicon"]
    # a read differs from its primer only by a substitution error or a variant of the sample
    assert sum(r[:22] in left for r in reads) > 0.9 * len(reads)
    inserts = (data / "targets.bed").read_text().splitlines()
    assert len(inserts) == truth["amplicons"] and len(primers) == 2 * truth["amplicons"]


def test_exome_reads_pile_on_the_targets_and_the_truth_counts_them(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        simulate_cli,
        ["--outdir", str(tmp_path / "data"), "--genome-size", "300000", "--samples", "E1:30",
         "--scenario", "exome", "--no-lowmap", "--seed", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    exome = manifest["summary"]["scenario"]["exome"]
    pairs = exome["pairs"]["E1"]
    assert pairs["target"] * 300 / exome["targets_bp"] == pytest.approx(30, rel=0.1)
    assert pairs["background"] * 300 / exome["genome_bp"] == pytest.approx(2 * 1.04, rel=0.05)
    assert len((tmp_path / "data" / "targets.bed").read_text().splitlines()) == 40
    assert "targets.bed" in manifest["files"]


def test_a_scenario_of_the_default_genome_is_refused_on_the_human_like_layout(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        simulate_cli,
        ["--outdir", str(tmp_path / "data"), "--layout", "human-like", "--scenario", "contamination"],
    )
    assert result.exit_code == 2
    assert "--layout human-like takes --scenario exome only, not contamination" in result.output
    assert not (tmp_path / "data").exists()


def test_the_human_like_exome_is_made_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    argv = ["--outdir", str(data), "--layout", "human-like", "--scenario", "exome", "--threads", "1"]
    result = CliRunner().invoke(simulate_cli, argv)
    assert result.exit_code == 0, result.output
    targets = [line.split("\t")[0] for line in (data / "targets.bed").read_text().splitlines()]
    # about 60 targets (at least 6 on each primary contig)
    assert 55 <= len(targets) <= 70 and {"chrX", "chrY"} <= set(targets)
