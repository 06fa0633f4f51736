"""Hand-made VCFs on a small random reference, for comparator cases whose answer is known."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

CONTIG = "chrA"
LENGTH = 3000


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(11)
    seq = "".join(rng.choice("ACGT") for _ in range(LENGTH))
    path = tmp_path_factory.mktemp("ref") / "ref.fa"
    path.write_text(f">{CONTIG}\n" + "\n".join(seq[i : i + 60] for i in range(0, LENGTH, 60)) + "\n")
    subprocess.run(["samtools", "faidx", str(path)], check=True)
    return path


@pytest.fixture(scope="session")
def ref_seq(reference: Path) -> str:
    return "".join(reference.read_text().splitlines()[1:])


Record = tuple  # (pos 1-based, REF, ALT, GT[, QUAL[, FILTER]])


@pytest.fixture
def write_vcf(tmp_path: Path) -> Callable[..., Path]:
    """write_vcf(name, records, samples=("S1",), contig=CONTIG) -> a bgzipped, indexed VCF."""

    def write(
        name: str, records: list[Record], samples: tuple[str, ...] = ("S1",), contig: str = CONTIG
    ) -> Path:
        header = [
            "##fileformat=VCFv4.2",
            f"##contig=<ID={contig},length={LENGTH}>",
            '##FILTER=<ID=LowQual,Description="low quality">',
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples),
        ]
        lines = []
        for pos, ref, alt, gt, *rest in sorted(records):
            qual = rest[0] if rest else 50
            flt = rest[1] if len(rest) > 1 else "PASS"
            lines.append(
                f"{contig}\t{pos}\t.\t{ref}\t{alt}\t{qual}\t{flt}\t.\tGT\t" + "\t".join([gt] * len(samples))
            )
        plain = tmp_path / f"{name}.vcf"
        plain.write_text("\n".join(header + lines) + "\n")
        subprocess.run(["bgzip", "-f", str(plain)], check=True)
        subprocess.run(["tabix", "-f", "-p", "vcf", f"{plain}.gz"], check=True)
        return Path(f"{plain}.gz")

    return write
