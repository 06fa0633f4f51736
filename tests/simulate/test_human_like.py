"""The human-like layout: sex chromosomes with PARs, ALT/decoy/unplaced contigs, sexed truth and sheets."""

from __future__ import annotations

import json
from pathlib import Path

import pysam
import pytest
from click.testing import CliRunner

from seqpipe.cli.main import cli
from seqpipe.reference.contigs import ContigSelection, read_alt
from seqpipe.sheets import load_sheets
from seqpipe.simulate.human_like import build_reference, exome_targets, par_regions, target_windows

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def human_like(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("human") / "data"
    result = CliRunner().invoke(
        cli, ["simulate", "--layout", "human-like", "--outdir", str(outdir), "--seed", "5", "--threads", "1"]
    )
    assert result.exit_code == 0, result.output
    return outdir


def _truth(data: Path, sample: str) -> list[tuple[str, int, tuple[int, ...]]]:
    with pysam.VariantFile(str(data / "truth" / f"{sample}.vcf.gz")) as vcf:
        return [(r.chrom, r.pos, r.samples[sample]["GT"]) for r in vcf]


def test_contigs_follow_grch38_naming_and_only_the_primary_ones_are_called(human_like: Path) -> None:
    with pysam.FastaFile(str(human_like / "reference" / "genome.fa")) as fasta:
        contigs = list(fasta.references)
        y = fasta.fetch("chrY")
        pars = json.loads((human_like / "manifest.json").read_text())["summary"]["par"]
    alts = read_alt(human_like / "reference" / "genome.fa.alt", contigs)
    assert alts == {"chr1_KI270762v1_alt"}
    assert ContigSelection().called(contigs, alts) == ["chr1", "chr2", "chr3", "chrX", "chrY"]
    assert {"chrUn_JTFH01000001v1_decoy", "chrUn_KI270302v1"} <= set(contigs)
    # chrY's PARs are masked, as in the GRCh38 analysis set
    (p1_start, p1_end), (p2_start, p2_end) = pars["chrY"]
    assert set(y[p1_start - 1 : p1_end]) == {"N"} and set(y[p2_start - 1 : p2_end]) == {"N"}
    assert "N" not in y[p1_end : p2_start - 1]


def test_the_male_truth_is_hemizygous_outside_the_pars_and_the_female_has_no_y(human_like: Path) -> None:
    pars = json.loads((human_like / "manifest.json").read_text())["summary"]["par"]

    def in_par(chrom: str, pos: int) -> bool:
        return any(s <= pos <= e for s, e in pars.get(chrom, []))

    male = _truth(human_like, "M1")
    outside = [gt for chrom, pos, gt in male if chrom in ("chrX", "chrY") and not in_par(chrom, pos)]
    assert len(outside) > 100 and set(outside) == {(1,)}
    assert any(len(gt) == 2 and gt[0] != gt[1] for chrom, pos, gt in male if in_par(chrom, pos))
    female = _truth(human_like, "F1")
    assert not any(chrom == "chrY" for chrom, _, _ in female)
    assert sum(gt in ((0, 1), (1, 0)) for chrom, _, gt in female if chrom == "chrX") > 50
    # F1 carries the ALT haplotype: its differences are her het variants inside the ALT's region
    alt = (human_like / "reference" / "genome.fa.alt").read_text().split("\t")
    start, length = int(alt[3]), int(alt[5].rstrip("M"))
    in_alt = [gt for chrom, pos, gt in female if chrom == "chr1" and start <= pos < start + length]
    assert len(in_alt) == 200 and set(in_alt) <= {(0, 1)}
    assert not any(chrom == "chr1" and start <= pos < start + length for chrom, pos, _ in male)


def test_the_sheets_declare_the_true_and_the_swapped_sex(human_like: Path) -> None:
    schemas = REPO / "config" / "schemas"
    right = load_sheets(human_like / "samples.tsv", human_like / "units.tsv", schemas)
    swapped = load_sheets(human_like / "samples_swapped.tsv", human_like / "units.tsv", schemas)
    assert {s: x.sex for s, x in right.samples.items()} == {"M1": "male", "F1": "female"}
    assert {s: x.sex for s, x in swapped.samples.items()} == {"M1": "female", "F1": "male"}
    config = (human_like / "config.yaml").read_text()
    assert "build: human-like" in config and "par:" in config


def test_the_male_has_no_reads_from_a_second_x_and_the_female_none_from_y(human_like: Path) -> None:
    manifest = json.loads((human_like / "manifest.json").read_text())
    pairs = {u["sample"]: u["pairs"] for u in manifest["summary"]["units"]}
    # M1: one X and a short Y instead of a second X, so fewer reads than F1 at the same depth
    assert pairs["M1"] < pairs["F1"]


def test_an_exome_reads_each_target_from_the_copies_of_it_a_sample_has() -> None:
    contigs, _ = build_reference(5)
    targets = exome_targets(5, contigs, 60)
    assert {c for c, _, _ in targets} == {"chr1", "chr2", "chr3", "chrX", "chrY"}
    assert all("N" not in contigs[c][s:e] for c, s, e in targets)
    x_par = par_regions()["chrX"]
    in_par = {f"chrX_{s}" for c, s, e in targets if c == "chrX" and any(ps <= s < pe for _, ps, pe in x_par)}
    names = {f"{c}_{s}" for c, s, _ in targets}
    y = {n for n in names if n.startswith("chrY")}
    x_non_par = {n for n in names if n.startswith("chrX")} - in_par
    assert y and x_non_par and in_par
    # no variants: each window is the reference over its target
    male, female = (
        target_windows(contigs, [], "male", targets),
        target_windows(contigs, [], "female", targets),
    )
    assert set(female[0]) == set(female[1]) == names - y
    assert set(male[0]) == names - y and set(male[1]) == names - x_non_par
    chrom, start, end = targets[0]
    assert male[0][f"{chrom}_{start}"] == contigs[chrom][start:end]
