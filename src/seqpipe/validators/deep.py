"""Deep validation: stream every record (htslib through pysam; own FASTQ parser), on a local copy."""

from __future__ import annotations

import gzip
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from seqpipe.validators import binary
from seqpipe.validators.fastq import check_records
from seqpipe.validators.result import ValidationResult

MAX_ERRORS = 20


@contextmanager
def _quiet_htslib() -> Iterator[None]:
    """No htslib chatter on stderr, and no reference downloads from the EBI server for CRAM."""
    import pysam

    previous_ref_path = os.environ.get("REF_PATH")
    if previous_ref_path is None:
        os.environ["REF_PATH"] = os.path.join(tempfile.gettempdir(), "seqpipe-no-ref-download", "%s")
    verbosity = pysam.set_verbosity(0)
    try:
        yield
    finally:
        pysam.set_verbosity(verbosity)
        if previous_ref_path is None:
            os.environ.pop("REF_PATH", None)


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


def walk_cram_containers(path: str, result: ValidationResult) -> None:
    """Follow the container chain to the EOF container; needs no reference."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        definition = fh.read(binary.CRAM_FILE_DEFINITION)
        major = definition[4] if len(definition) > 4 else 0
        offset, containers, last = binary.CRAM_FILE_DEFINITION, 0, None
        while offset < size:
            fh.seek(offset)
            buf = fh.read(64 * 1024)
            try:
                last = binary.cram_container_header(buf, offset, major)
            except (IndexError, binary.DecodeError, ValueError) as exc:
                result.error(f"unreadable CRAM container header ({exc})", offset=offset)
                return
            containers += 1
            if last.end > size:
                result.error(
                    f"container {containers} runs past the end of the file (truncated)", offset=offset
                )
                return
            offset = last.end
    result.header.details["containers"] = containers
    if major >= 3 and (last is None or last.ref_seq_id != -1 or last.n_records != 0):
        result.error("the last container is not the EOF container (truncated)", offset=size)


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


def _text_lines(path: str) -> Iterator[str]:
    """Lines with their newline kept, from plain or gzip/BGZF text."""
    with open(path, "rb") as probe:
        compressed = probe.read(2) == binary.GZIP_MAGIC
    raw = gzip.open(path, "rb") if compressed else open(path, "rb")  # noqa: SIM115 (closed below)
    try:
        yield from io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
    finally:
        raw.close()


def check_vcf_lines(path: str, result: ValidationResult) -> None:
    from seqpipe.validators.vcf_text import VcfTextChecker

    try:
        VcfTextChecker(result).check(_text_lines(path))
    except (OSError, EOFError) as exc:
        result.error(f"decompression failed: {exc}")


def check_sam_lines(path: str, result: ValidationResult) -> None:
    from seqpipe.validators.sam_text import SamTextChecker

    try:
        SamTextChecker(result).check(_text_lines(path))
    except (OSError, EOFError) as exc:
        result.error(f"decompression failed: {exc}")


def deep_fastq(path: str, result: ValidationResult) -> None:
    with open(path, "rb") as probe:
        compressed = probe.read(2) == binary.GZIP_MAGIC
    raw = gzip.open(path, "rb") if compressed else open(path, "rb")  # noqa: SIM115 (closed below)
    try:
        lines = (line.rstrip("\n") for line in io.TextIOWrapper(raw, encoding="ascii", errors="replace"))
        check_records(lines, result, stop_after=None)
    except (OSError, EOFError, ValueError) as exc:
        result.error(
            f"decompression failed after {result.records or 0} records: {exc}",
            record=(result.records or 0) + 1,
        )
    finally:
        raw.close()


def deep_check(path: str, fmt: str, result: ValidationResult, reference: str | None) -> None:
    if fmt in ("BAM", "CRAM", "SAM"):
        deep_alignments(path, fmt, result, reference)
        if fmt == "SAM" and result.valid:
            check_sam_lines(path, result)
    elif fmt in ("VCF", "BCF"):
        deep_variants(path, result)
        if fmt == "VCF" and result.valid:
            check_vcf_lines(path, result)
    elif fmt == "FASTQ":
        deep_fastq(path, result)
