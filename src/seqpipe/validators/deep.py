"""Deep validation: stream every record (htslib through pysam; own FASTQ, SAM and VCF line checks),
on a local copy, in a forked child (isolated.py): a file that crashes htslib or claims gigabytes
fails its validation instead of taking the process (the validation Lambda) down."""

from __future__ import annotations

import gzip
import logging
import os
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import IO, Any

from seqpipe.validators import binary
from seqpipe.validators.cram import walk_cram_containers
from seqpipe.validators.fastq import check_records
from seqpipe.validators.isolated import IsolatedFailure, run_isolated
from seqpipe.validators.result import MAX_ERRORS, Issue, ValidationResult
from seqpipe.validators.sam_text import SamTextChecker
from seqpipe.validators.vcf_text import VcfTextChecker

# longer than any real record (a VCF line of 500,000 samples is ~20 MB); a longer one is refused
MAX_LINE = 64 * 1024 * 1024
INCOMPLETE = "validation could not complete"
log = logging.getLogger(__name__)


class LineTooLong(Exception):
    def __init__(self, number: int) -> None:
        super().__init__(f"line {number} is longer than {MAX_LINE // 2**20} MiB")
        self.number = number


@contextmanager
def _quiet_htslib() -> Iterator[None]:
    """No htslib chatter on stderr, and no reference downloads from the EBI server for CRAM."""
    import pysam

    os.environ.setdefault("REF_PATH", os.path.join(tempfile.gettempdir(), "seqpipe-no-ref-download", "%s"))
    pysam.set_verbosity(0)
    yield


def deep_alignments(path: str, fmt: str, result: ValidationResult, reference: str | None) -> None:
    import pysam

    if fmt == "CRAM":
        walk_cram_containers(path, result)
    mode = {"BAM": "rb", "CRAM": "rc", "SAM": "r"}[fmt]
    records = 0
    with _quiet_htslib():
        try:
            with pysam.AlignmentFile(path, mode, check_sq=False, reference_filename=reference) as handle:
                for record in handle.fetch(until_eof=True):
                    records += 1
                    if (
                        record.query_sequence
                        and record.query_qualities is not None
                        and len(record.query_qualities) != len(record.query_sequence)
                    ):
                        result.error("sequence and quality lengths differ", record=records)
        except (OSError, ValueError, RuntimeError, StopIteration) as exc:
            message = str(exc) or type(exc).__name__
            if fmt == "CRAM" and reference is None:
                # htslib reports a missing reference as a generic read error; the container walk
                # above already checked the structure, so this is a limit of the check, not a defect.
                result.warn(
                    f"records not decoded without the reference (htslib: {message}); give a reference"
                )
            else:
                result.error(
                    f"record {records + 1} could not be read (htslib: {message})", record=records + 1
                )
    result.records = records


def deep_variants(path: str, result: ValidationResult) -> None:
    import pysam

    records = 0
    with _quiet_htslib():
        try:
            with pysam.VariantFile(path) as handle:
                for record in handle.fetch():
                    records += 1
                    if not record.ref or any(not allele for allele in record.alts or ()):
                        result.error("empty REF or ALT allele", record=records)
                    if len(result.errors) >= MAX_ERRORS:
                        break
        except (OSError, ValueError, RuntimeError, StopIteration) as exc:
            result.error(
                f"record {records + 1} could not be read (htslib: {exc or type(exc).__name__})",
                record=records + 1,
            )
    result.records = records


def _open(path: str) -> IO[bytes]:
    with open(path, "rb") as probe:
        compressed = probe.read(2) == binary.GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def text_lines(path: str) -> Iterator[str]:
    """Lines with their newline kept, from plain or gzip/BGZF text; LineTooLong past MAX_LINE
    (a line is held whole, so its length bounds the memory)."""
    with _open(path) as raw:
        number = 0
        while line := raw.readline(MAX_LINE + 1):
            number += 1
            if len(line) > MAX_LINE:
                raise LineTooLong(number)
            yield line.decode("utf-8", "replace")


def check_lines(path: str, result: ValidationResult, checker: SamTextChecker | VcfTextChecker | None) -> None:
    """Every line through a text checker, or (None) through the FASTQ record checks."""
    try:
        if checker is None:
            check_records((line.rstrip("\n") for line in text_lines(path)), result, stop_after=None)
        else:
            checker.check(text_lines(path))
    except LineTooLong as exc:
        result.error(str(exc), line=exc.number)
    except (OSError, EOFError, ValueError, zlib.error) as exc:  # gzip: corrupt or truncated stream
        records = result.records or 0
        where = f" after {records} records" if checker is None else ""
        result.error(f"decompression failed{where}: {exc}", record=records + 1 if checker is None else None)


@contextmanager
def _without_sidecars(path: str) -> Iterator[str]:
    """The file under its name in an empty folder: htslib then finds no index beside it and reads the
    records in order. Reading needs no index (quick mode checked it), and pysam 0.24.1 loads one it
    finds on opening, and crashes on a corrupt .bai (the fuzzer's BAM findings were all of that)."""
    with tempfile.TemporaryDirectory(prefix="seqpipe-deep-") as folder:
        alone = os.path.join(folder, os.path.basename(path))
        os.symlink(os.path.abspath(path), alone)
        yield alone


def _checks(path: str, fmt: str, result: ValidationResult, reference: str | None) -> dict[str, Any]:
    """The deep checks proper (in the child); returns what they added to the result."""
    known = len(result.issues)
    with _without_sidecars(path) as alone:
        if fmt in ("BAM", "CRAM", "SAM"):
            deep_alignments(alone, fmt, result, reference)
            if fmt == "SAM" and result.valid:
                check_lines(alone, result, SamTextChecker(result))
        elif fmt in ("VCF", "BCF"):
            deep_variants(alone, result)
            if fmt == "VCF" and result.valid:
                check_lines(alone, result, VcfTextChecker(result))
        elif fmt == "FASTQ":
            check_lines(alone, result, None)
    return {
        "issues": [asdict(issue) for issue in result.issues[known:]],
        "records": result.records,
        "details": result.header.details,
    }


def deep_check(path: str, fmt: str, result: ValidationResult, reference: str | None) -> None:
    """Deep checks of a local file in an isolated child; their findings are merged into `result`."""
    import pysam  # noqa: F401  (loaded before the fork, so each child starts with it)

    try:
        found = run_isolated(_checks, path, fmt, result, reference)
    except IsolatedFailure as failure:
        if failure.details:  # a Python exception: a defect of the checks, worth a traceback in the log
            log.error("deep validation of %s failed:\n%s", path, failure.details)
        result.error(f"{INCOMPLETE}: the deep check {failure}")
        return
    result.issues.extend(Issue(**issue) for issue in found["issues"])
    result.records = found["records"]
    result.header.details.update(found["details"])
