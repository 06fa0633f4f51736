"""Sex inference from windowed depth and X genotypes, and its verdict against the sheet."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from seqpipe.qc.sex import SexInference, infer_sex, sex_check
from seqpipe.qc.verdicts import FAIL, PASS, WARN
from seqpipe.reference.sex_chromosomes import SexChromosomes

CHROMOSOMES = SexChromosomes.from_config({"par": {"chrX": [[1, 10_000]], "chrY": [[1, 10_000]]}})


def _inputs(tmp_path: Path, x_depth: float, y_depth: float, het: int, hom: int) -> tuple[Path, Path, Path]:
    """mosdepth-style 1 kb windows (autosome at 30x) and a diploid call set on non-PAR X."""
    windows = [("chr1", s, 30.0) for s in range(0, 100_000, 1000)]
    windows += [("chrX", s, 30.0 if s < 10_000 else x_depth) for s in range(0, 100_000, 1000)]
    windows += [("chrY", s, y_depth) for s in range(10_000, 50_000, 1000)]
    regions = tmp_path / "regions.bed.gz"
    with gzip.open(regions, "wt") as fh:
        fh.writelines(f"{c}\t{s}\t{s + 1000}\t{d}\n" for c, s, d in windows)
    callable_bed = tmp_path / "callable.bed"
    callable_bed.write_text("chr1\t0\t100000\nchrX\t0\t100000\nchrY\t0\t50000\n")
    sites = tmp_path / "x_sites.vcf"
    genotypes = ["0/1"] * het + ["1/1"] * hom
    sites.write_text(
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n"
        + "".join(
            f"chrX\t{20_000 + i * 10}\t.\tA\tG\t60\t.\t.\tGT:PL\t{gt}:0,0,0\n"
            for i, gt in enumerate(genotypes)
        )
    )
    return regions, callable_bed, sites


@pytest.mark.parametrize(
    ("x_depth", "y_depth", "het", "hom", "inferred"),
    [
        (30.0, 0.3, 30, 20, "female"),
        (15.0, 15.0, 1, 50, "male"),
        (30.0, 15.0, 30, 20, "ambiguous"),  # XXY
        (15.0, 0.0, 1, 50, "ambiguous"),  # X0
    ],
)
def test_sex_is_inferred_when_depth_and_heterozygosity_agree(
    tmp_path: Path, x_depth: float, y_depth: float, het: int, hom: int, inferred: str
) -> None:
    found = infer_sex("S", CHROMOSOMES, *_inputs(tmp_path, x_depth, y_depth, het, hom), {})
    assert found.inferred == inferred
    assert found.x_depth_ratio == pytest.approx(x_depth / 30) and found.x_sites == het + hom


@pytest.mark.parametrize(("x_depth", "y_depth", "inferred"), [(60.0, 0.2, "female"), (30.0, 30.0, "male")])
def test_an_exome_sex_is_inferred_from_the_depth_of_its_targets(
    tmp_path: Path, x_depth: float, y_depth: float, inferred: str
) -> None:
    # 200 bp targets every 5 kb at 60x (none between them), the callable reference their padded spans
    targets = [(c, s, s + 200) for c in ("chr1", "chrX") for s in range(12_000, 100_000, 5000)]
    targets += [("chrY", s, s + 200) for s in range(12_000, 50_000, 5000)]
    depth = {"chr1": 60.0, "chrX": x_depth, "chrY": y_depth}
    regions = tmp_path / "targets.regions.bed.gz"
    with gzip.open(regions, "wt") as fh:
        fh.writelines(f"{c}\t{s}\t{e}\t{depth[c]}\n" for c, s, e in targets)
    callable_bed = tmp_path / "callable.bed"
    callable_bed.write_text("".join(f"{c}\t{s - 100}\t{e + 100}\n" for c, s, e in targets))
    sites = tmp_path / "x_sites.vcf"
    sites.write_text("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n")
    found = infer_sex("S", CHROMOSOMES, regions, callable_bed, sites, {})
    assert found.inferred == inferred
    assert found.x_depth_ratio == pytest.approx(x_depth / 60)


def test_a_declared_sex_the_data_contradict_fails_naming_both() -> None:
    male = SexInference("S", 0.51, 0.5, 0.01, 146, "male")
    check = sex_check("female", male)
    assert check is not None and check.verdict == FAIL
    assert check.reason == (
        "declared female but the data are male "
        "(X/autosome depth 0.51, Y/autosome depth 0.50, X het share 0.01 of 146 sites)"
    )
    assert sex_check("male", male).verdict == PASS and sex_check("unknown", male).verdict == PASS
    assert sex_check("male", SexInference("S", 0.9, 0.3, 0.5, 40, "ambiguous")).verdict == WARN
    assert sex_check("male", SexInference("S", None, None, None, 0, "not checked")) is None
