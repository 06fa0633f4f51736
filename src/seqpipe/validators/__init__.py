"""Format validators for sequencing files, local or on S3, quick (bounded reads) or deep (all records).

    from seqpipe.validators import validate
    result = validate("s3://raw/P1/RUN1/S1/S1.cram", deep=False)
    result.valid, result.format, result.errors, result.header.samples, result.to_dict()

Formats: FASTQ(.gz), SAM, BAM, CRAM, VCF(.gz), BCF, Illumina run folders (BCL). Bad input never
raises: every problem becomes an Issue (with a byte offset, record or line number where known).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from seqpipe.validators.result import HeaderSummary, Issue, ValidationResult

__all__ = ["HeaderSummary", "Issue", "ValidationResult", "validate"]


def validate(location: str | Path, deep: bool = False, reference: str | None = None) -> ValidationResult:
    """Validate a file or run folder; `reference` (FASTA) lets deep mode decode reference-based CRAM."""
    from seqpipe.storage.location import locate
    from seqpipe.validators.bcl import check_run_folder, is_run_folder
    from seqpipe.validators.deep import INCOMPLETE, deep_check
    from seqpipe.validators.quick import quick_check

    location = str(location)
    result = ValidationResult(location=location, format="unknown", mode="deep" if deep else "quick")
    try:
        if location.endswith("/") or os.path.isdir(location) or is_run_folder(location):
            check_run_folder(location, result, deep)
            return result
        source = locate(location)
        result.size = source.size
        fmt = quick_check(source, result, lines_later=deep)
        if deep and fmt is not None:
            with source.local_path() as path:
                deep_check(path, fmt, result, reference)
        result.bytes_read += source.bytes_read
    except FileNotFoundError:
        result.error("no such file")
    except Exception as exc:  # the contract: a result, never a traceback, whatever the input
        logging.getLogger(__name__).exception("validation of %s could not complete", location)
        result.error(f"{INCOMPLETE}: {type(exc).__name__}: {exc}")
    return result
