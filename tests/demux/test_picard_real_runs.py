"""Picard, driven by the pipeline's command builder, on real base calls: output identical to Picard's own.

The expected FASTQs are Picard's test data (MIT), made with Picard's defaults: non-PF clusters included
and EAMSS quality masking on (the pipeline turns both off, like bcl2fastq and bcl-convert), barcodes
from ExtractIlluminaBarcodes' files and reads sorted by name. The pipeline's one pass (barcodes matched
inline, reads in the instrument's order) must give the same records; Picard's two steps, the same bytes.
"""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pytest

from seqpipe.demux.collect import UNDETERMINED
from seqpipe.demux.commands import FIND_PICARD, barcode_table, multiplex_table, picard_commands


def _barcodes(params: Path) -> list[tuple[str, str, str]]:
    rows = [line.split("\t") for line in params.read_text().splitlines()[1:] if line.strip()]
    dual = len(rows[0]) == 4
    return [(r[0] + r[1] if dual else r[0], r[0], r[1] if dual else "") for r in rows if r[0] != "N"]


def _run_picard(basecalls: Path, read_structure: str, barcodes: list, work: Path, one_pass: bool) -> Path:
    (work / "tmp").mkdir(parents=True)
    (work / "fastq").mkdir()
    (work / "barcodes.tsv").write_text(barcode_table(barcodes))
    (work / "multiplex.tsv").write_text(multiplex_table(barcodes, str(work / "fastq")))
    steps = picard_commands(
        basecalls=str(basecalls),
        lane=1,
        read_structure=read_structure,
        multiplex_file=str(work / "multiplex.tsv"),
        metrics_file=str(work / "metrics.txt"),
        tmp_dir=str(work / "tmp"),
        run_barcode="HiMom",
        machine="machine1",
        flowcell="abcdeACXX",
        mismatches=1,
        threads=2,
        include_non_pf=True,
        apply_eamss=True,
        barcode_file=None if one_pass else str(work / "barcodes.tsv"),
    )
    script = " && ".join([FIND_PICARD, *(f'"$PICARD" {" ".join(step)}' for step in steps)])
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return work / "fastq"


def _records(fastq: bytes) -> list[bytes]:
    lines = fastq.splitlines(keepends=True)
    return sorted(b"".join(lines[i : i + 4]) for i in range(0, len(lines), 4))


def _assert_identical(
    expected_dir: Path, produced: Path, prefixes: list[str], unmatched: str, same_order: bool
) -> int:
    compared = 0
    for expected in sorted(expected_dir.glob("*.fastq")):
        # <prefix>.<read>.fastq, where a barcode prefix may itself hold '.' (a no-call)
        prefix, read = next(
            ((expected.name[: -len(r) - 7], r) for r in ("barcode_1", "barcode_2", "1", "2")
             if expected.name.endswith(f".{r}.fastq")),
            (None, None),
        )  # fmt: skip
        if prefix == unmatched:
            prefix = UNDETERMINED
        elif prefix not in prefixes:
            continue  # Picard's other test modes (trimming, non-barcoded runs)
        ours = produced / f"{prefix}.{read}.fastq.gz"
        ours_bytes = gzip.decompress(ours.read_bytes())
        if same_order:
            assert ours_bytes == expected.read_bytes(), ours.name
        else:
            assert _records(ours_bytes) == _records(expected.read_bytes()), ours.name
        compared += 1
    return compared


@pytest.mark.parametrize("one_pass", [True, False], ids=["one-pass", "two-steps"])
@pytest.mark.parametrize(
    ("dataset", "read_structure", "params", "unmatched", "files"),
    [
        ("bcl-hiseqx-picard/25T8B8B25T_hiseqx", "25T8B8B25T", "library.params", "NN", 256),
        ("bcl-hiseq-clocs-picard/25T8B25T", "25T8B25T", "fastq/mp_barcode.params", "N", 186),
    ],
)
def test_picard_output_matches_picards_expected_fastq(
    shared_testdata: Path,
    tmp_path: Path,
    dataset: str,
    read_structure: str,
    params: str,
    unmatched: str,
    files: int,
    one_pass: bool,
) -> None:
    run = shared_testdata / dataset
    barcodes = _barcodes(run / params)
    produced = _run_picard(run / "Data/Intensities/BaseCalls", read_structure, barcodes, tmp_path, one_pass)
    compared = _assert_identical(
        run / "fastq", produced, [b[0] for b in barcodes], unmatched, same_order=not one_pass
    )
    assert compared == files
