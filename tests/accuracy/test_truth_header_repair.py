"""Truth VCFs with the header quirks of public releases: repaired with a warning, or refused with the line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from seqpipe.accuracy import AccuracyInputError, evaluate
from seqpipe.cli.main import cli

CONTIG, LENGTH = "chrA", 3000  # the `reference` fixture's one contig
COLUMNS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1"
# What the quirky records use: an INFO tag with a value, an INFO flag, a FORMAT tag and a FILTER.
DECLARATIONS = [
    f"##contig=<ID={CONTIG},length={LENGTH}>",
    '##FILTER=<ID=Uncertain,Description="uncertain genotype">',
    '##INFO=<ID=PLCG,Number=.,Type=String,Description="likelihoods">',
    '##INFO=<ID=NoCG,Number=0,Type=Flag,Description="no consensus">',
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="depth">',
]


def _records(ref_seq: str) -> list[str]:
    def alt(pos: int) -> str:
        return "G" if ref_seq[pos - 1] != "G" else "A"

    return [
        f"{CONTIG}\t100\t.\t{ref_seq[99]}\t{alt(100)}\t50\tPASS\tPLCG=1,0,5;NoCG\tGT:DP\t0/1:30",
        f"{CONTIG}\t500\t.\t{ref_seq[499]}\t{alt(500)}\t50\tUncertain\tPLCG=3,0,2\tGT:DP\t1/1:12",
        f"{CONTIG}\t900\t.\t{ref_seq[899]}\t{alt(900)}\t50\tPASS\t.\tGT:DP\t0/1:41",
    ]


@pytest.fixture
def quirky_and_declared(tmp_path: Path, ref_seq: str) -> tuple[Path, Path]:
    """The same records: once with no header line but #CHROM, once fully declared."""
    records = _records(ref_seq)
    quirky = tmp_path / "quirky.vcf"
    quirky.write_text("\n".join([COLUMNS, *records]) + "\n")
    declared = tmp_path / "declared.vcf"
    declared.write_text("\n".join(["##fileformat=VCFv4.2", *DECLARATIONS, COLUMNS, *records]) + "\n")
    return quirky, declared


def _figures(result) -> dict:
    return {name: {k: s.as_dict() for k, s in by_type.items()} for name, by_type in result.metrics.items()}


def test_quirky_truth_gives_the_figures_of_its_declared_copy(reference, quirky_and_declared, write_vcf):
    quirky, declared = quirky_and_declared
    query = write_vcf("query", [])
    repaired = evaluate(quirky, declared, reference)
    by_hand = evaluate(declared, declared, reference)
    assert _figures(repaired) == _figures(by_hand)
    assert by_hand.metrics["all"]["SNV"].tp == 3 and by_hand.repairs == []
    assert evaluate(quirky, query, reference).metrics["all"]["SNV"].fn == 3
    named = "\n".join(repaired.repairs)
    for what in ("fileformat", f"contig {CONTIG} (length {LENGTH}, from", "INFO tag PLCG", "INFO tag NoCG",
                 "Type=Flag", "FORMAT tag DP", "FORMAT tag GT", "FILTER tag Uncertain"):  # fmt: skip
        assert what in named, named
    assert all(r.startswith(f"truth VCF {quirky}: ") for r in repaired.repairs)


def test_repairs_are_warned_on_stderr_and_kept_out_of_the_json(reference, quirky_and_declared):
    quirky, declared = quirky_and_declared
    args = ["accuracy", "--truth", str(quirky), "--query", str(declared), "--reference", str(reference)]
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert f"warning: truth VCF {quirky}: declared contig {CONTIG}" in result.stderr
    assert "warning" not in result.stdout and '"repairs"' in result.stdout


def test_record_that_cannot_be_read_is_refused_with_its_line(reference, quirky_and_declared, tmp_path):
    _, declared = quirky_and_declared
    broken = tmp_path / "broken.vcf"
    lines = declared.read_text().splitlines()
    broken.write_text("\n".join([*lines[:-1], f"{CONTIG}\t900\t.\tA"]) + "\n")
    with pytest.raises(
        AccuracyInputError,
        match=rf"truth VCF {broken} is not a readable VCF/BCF: line {len(lines)}: expected at least 8",
    ):
        evaluate(broken, declared, reference)


def test_giab_truth_gives_the_figures_of_a_hand_repaired_copy(shared_testdata: Path, tmp_path: Path):
    """The real GIAB slice lacks its contig line and PLNCIIonWG; the query is freebayes' upstream calls."""
    data = shared_testdata / "freebayes-na12878-tiny"
    giab, query, reference = data / "NA12878.chr22.tiny.giab.vcf", data / "q.vcf.gz", data / "q.fa"
    hand = tmp_path / "giab.by-hand.vcf"
    extra = [
        "##contig=<ID=q,length=12356>",
        '##INFO=<ID=PLNCIIonWG,Number=.,Type=String,Description="PL for Ion Torrent whole genome (NCI)">',
    ]
    lines = giab.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("#CHROM"))
    hand.write_text("\n".join([*lines[:at], *extra, *lines[at:]]) + "\n")
    unmodified = evaluate(giab, query, reference)
    by_hand = evaluate(hand, query, reference)
    assert _figures(unmodified) == _figures(by_hand)
    assert by_hand.repairs == [] and by_hand.metrics["all"]["SNV"].tp + by_hand.metrics["all"]["SNV"].fn == 14
    assert [r.split(": ", 1)[1].split(" (")[0] for r in unmodified.repairs] == [
        "declared contig q",
        "declared INFO tag PLNCIIonWG",
    ]
