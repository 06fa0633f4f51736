"""Quick validation: everything a bounded read can check.

Reads the start of the file (64 KiB, growing ×4 when a header runs on, at most MAX_HEAD), its last
BGZF block or EOF container (at most TAIL_READ), and the start of its index (indexes.py), so the cost
is a handful of ranged reads whatever the file's size: at most QUICK_READ_LIMIT bytes in all.
Per format:

- FASTQ(.gz): the compressed blocks at both ends decompress (CRC and length included), the first
  QUICK_RECORDS records are well formed.
- SAM(.gz), VCF(.gz): the header and the first QUICK_RECORDS records, by the deep mode's line checks.
- BAM, BCF: BGZF with its EOF block; the inner magic and version; the header parses; the index.
- CRAM: magic, a released version, the header container and block parse (CRC32), the SAM header
  text, the EOF container, the .crai index.

A file whose format cannot be confirmed (a binary format's magic is missing) is an error, not a
warning; only limits of the bounded read (a header longer than the window) are warnings.
"""

from __future__ import annotations

import re
import struct

from seqpipe.storage.location import Location
from seqpipe.validators import binary
from seqpipe.validators.cram import CRAM_EOF, CRAM_VERSIONS, check_cram_header
from seqpipe.validators.fastq import check_records
from seqpipe.validators.headers import sam_header, vcf_header
from seqpipe.validators.indexes import INDEX_READ, PROBE_READ, HeaderFacts, check_index
from seqpipe.validators.result import ValidationResult
from seqpipe.validators.sam_text import SamTextChecker
from seqpipe.validators.vcf_text import VcfTextChecker
from seqpipe.validators.window import Window

QUICK_READ_LIMIT = 1024 * 1024
TAIL_READ = binary.BGZF_MAX_BLOCK + len(binary.BGZF_EOF)  # the largest block, then the EOF block
MAX_HEAD = QUICK_READ_LIMIT - TAIL_READ - INDEX_READ - PROBE_READ

EXTENSION_FORMATS = {
    ".fastq": "FASTQ", ".fq": "FASTQ", ".fastq.gz": "FASTQ", ".fq.gz": "FASTQ",
    ".bam": "BAM", ".cram": "CRAM", ".sam": "SAM",
    ".vcf": "VCF", ".vcf.gz": "VCF", ".vcf.bgz": "VCF", ".bcf": "BCF",
}  # fmt: skip
MAGIC = {"BAM": b"BAM\x01", "BCF": b"BCF\x02", "CRAM": binary.CRAM_MAGIC}
# "the first records": enough for their structure, and a bounded time whatever the window holds
# (4 MiB of decompressed VCF is ~30,000 records)
QUICK_RECORDS = 200
TEXT_FORMATS = ("FASTQ", "SAM", "VCF")


def format_from_name(name: str) -> str | None:
    """By extension, also inside the name ('x.vcf.truncated.gz' is a VCF someone cut short)."""
    lowered = name.lower()
    for extension in sorted(EXTENSION_FORMATS, key=len, reverse=True):
        if lowered.endswith(extension):
            return EXTENSION_FORMATS[extension]
    parts = lowered.split(".")[1:]
    return next((EXTENSION_FORMATS[f".{p}"] for p in parts if f".{p}" in EXTENSION_FORMATS), None)


def detect(window: Window, name: str) -> tuple[str | None, bool]:
    """(format, confirmed): by content first; the name alone confirms nothing."""
    data = window.data
    if window.raw.startswith(binary.CRAM_MAGIC):
        return "CRAM", True
    for fmt in ("BAM", "BCF"):
        if data.startswith(MAGIC[fmt]):
            return fmt, True
    if data.startswith(b"##fileformat=VCF"):
        return "VCF", True
    by_name = format_from_name(name)
    if data.startswith(b"@"):
        # a SAM header line is "@XY<tab>..."; a FASTQ record starts "@read-name"
        return ("SAM" if by_name == "SAM" or re.match(rb"@[A-Za-z][A-Za-z0-9]\t", data) else "FASTQ"), True
    return by_name, False


def not_confirmed(window: Window, fmt: str) -> str:
    found = window.data[:4] if window.compressed else window.raw[:4]
    where = "its decompressed data starts" if window.compressed and fmt != "CRAM" else "it starts"
    return f"not a {fmt} file: {where} with {found!r}, not the {fmt} magic {MAGIC[fmt]!r}"


# ---- headers ----------------------------------------------------------------------------------------


def check_bam_header(window: Window, result: ValidationResult) -> HeaderFacts | None:
    """l_text, the SAM header text, n_ref and the binary reference list (name and length each)."""
    while True:
        data = window.data
        try:
            (l_text,) = struct.unpack_from("<i", data, 4)
            if l_text < 0:
                result.error(f"BAM header length l_text={l_text} is negative", offset=0)
                return None
            (n_ref,) = struct.unpack_from("<i", data, 8 + l_text)
            if n_ref < 0:
                result.error(f"BAM reference count n_ref={n_ref} is negative", offset=0)
                return None
            pos, names = 12 + l_text, []
            for _ in range(n_ref):
                (l_name,) = struct.unpack_from("<i", data, pos)
                if l_name < 1:
                    result.error(f"BAM reference {len(names) + 1}: name length {l_name} < 1", offset=0)
                    return None
                (l_ref,) = struct.unpack_from("<i", data, pos + 4 + l_name)
                name = data[pos + 4 : pos + 4 + l_name]
                if not name.endswith(b"\0") or l_ref < 0:
                    result.error(f"BAM reference {len(names) + 1}: not a NUL-ended name and a length")
                    return None
                names.append(name[:-1].decode("ascii", "replace"))
                pos += 8 + l_name
            break
        except struct.error:
            if not window.grow(MAX_HEAD):
                return HeaderFacts() if window.report_cut("BAM header", result) else None
    text = data[8 : 8 + l_text].rstrip(b"\0").decode("utf-8", "replace")
    sam_header(text, result, result.header)
    SamTextChecker(result).check(text.split("\n"))
    result.header.details["references_in_binary_header"] = n_ref
    if names and result.header.contigs and names != result.header.contigs:
        result.warn("@SQ lines and the binary reference list differ")
    if not result.header.contigs:
        result.header.contigs = names
    return HeaderFacts(n_ref=n_ref)


def check_bcf_header(window: Window, result: ValidationResult) -> HeaderFacts | None:
    """BCF 2.1/2.2: magic, l_text and the VCF header text, checked as VCF header lines are."""
    data = window.data
    result.header.details["bcf_version"] = f"{data[3]}.{data[4] if len(data) > 4 else '?'}"
    if len(data) < 5 or data[4] not in (1, 2):
        result.error(f"BCF version 2.{data[4] if len(data) > 4 else '?'} is not 2.1 or 2.2", offset=3)
        return None
    while len(window.data) < 9 or len(window.data) < 9 + struct.unpack_from("<I", window.data, 5)[0]:
        if not window.grow(MAX_HEAD):
            return HeaderFacts() if window.report_cut("BCF header", result) else None
    (l_text,) = struct.unpack_from("<I", window.data, 5)
    text = window.data[9 : 9 + l_text].rstrip(b"\0").decode("utf-8", "replace")
    if not vcf_header(text, result, result.header):
        result.error("BCF header text has no #CHROM line", offset=9)
    VcfTextChecker(result).check(text.split("\n"))
    return HeaderFacts(n_ref=len(result.header.contigs), contigs=result.header.contigs)


def first_records(lines: list[str], header: str) -> list[str]:
    """The header lines (starting with `header`) and the first QUICK_RECORDS other lines."""
    records = 0
    for number, line in enumerate(lines):
        if line and not line.startswith(header):
            records += 1
            if records > QUICK_RECORDS:
                return lines[:number]
    return lines


def check_vcf_text(window: Window, result: ValidationResult, lines_later: bool) -> HeaderFacts:
    """The header (grown until its #CHROM line is in the window) and, unless deep mode reads every
    line afterwards, the header and first records by the line checks."""
    while b"\n#CHROM" not in window.data and window.grow(MAX_HEAD):
        pass
    lines = window.lines()
    if not vcf_header("\n".join(lines) + "\n", result, result.header):
        if window.whole:
            result.error("VCF header has no #CHROM line", offset=window.source.size)
        else:
            result.warn("VCF header longer than the quick-mode window; its end was not checked")
    if not lines_later:
        VcfTextChecker(result).check(first_records(lines, "#"))
    return HeaderFacts(n_ref=None, contigs=result.header.contigs)


def check_sam_text(window: Window, result: ValidationResult, lines_later: bool) -> None:
    lines = window.lines()
    sam_header("\n".join(line for line in lines if line.startswith("@")), result, result.header)
    if not lines_later:
        SamTextChecker(result).check(first_records(lines, "@"), whole=window.whole)


def check_fastq_text(window: Window, result: ValidationResult, lines_later: bool) -> None:
    lines = window.lines()
    if not window.whole:
        lines = lines[: len(lines) // 4 * 4]  # whole records only; the window may cut one
    if not lines_later:
        check_records(iter(lines), result, stop_after=QUICK_RECORDS)


# ---- the end of the file ------------------------------------------------------------------------------


def check_end(window: Window, result: ValidationResult, fmt: str) -> None:
    """The EOF marker and, for BGZF, the last data block (it must decompress, CRC and length
    included); text must end with a newline (a VCF must: "the last data line must end with a line
    separator", VCF 4.3 §1.6; for FASTQ and SAM a missing one is a warning)."""
    source = window.source
    if fmt == "CRAM":
        marker = CRAM_EOF.get((window.raw[4], window.raw[5]))
        if marker is None:
            result.warn("CRAM 2.0 has no EOF container: a truncation cannot be seen in quick mode")
        elif window.tail(len(marker)) != marker:
            result.error(
                "CRAM EOF container missing: the file is truncated or was not closed", offset=source.size
            )
        return
    last_text: bytes | None = None
    if window.bgzf:
        tail = window.tail(TAIL_READ)
        if not tail.endswith(binary.BGZF_EOF):
            result.error(
                "BGZF EOF block missing: the file is truncated or was not closed", offset=source.size
            )
            return
        if len(tail) > len(binary.BGZF_EOF):
            try:
                _, last_text = binary.last_bgzf_block(tail[: -len(binary.BGZF_EOF)], source.size - len(tail))
            except binary.DecodeError as exc:
                result.error(str(exc), offset=exc.offset)
                return
    elif window.compressed:
        if not window.whole:
            result.warn("plain gzip, not BGZF: its end is not checked in quick mode (deep mode reads it all)")
        elif window.complete:
            last_text = window.data[-1:]
    else:
        last_text = window.tail(1)
    if fmt in TEXT_FORMATS and last_text and not last_text.endswith(b"\n"):
        report = result.error if fmt == "VCF" else result.warn
        report("the file does not end with a newline: truncated?", offset=source.size)


# ---- the whole quick check ---------------------------------------------------------------------------


def quick_check(source: Location, result: ValidationResult, lines_later: bool = False) -> str | None:
    """Run the quick checks; returns the format when confirmed (None: not recognised, or a binary
    format whose magic is missing). `lines_later`: deep mode will check every text line itself."""
    if source.size == 0:
        by_name = format_from_name(source.name)
        if by_name in ("FASTQ", "SAM") and not source.name.lower().endswith(".gz"):
            # a demultiplexer writes one for a barcode without reads: valid, though useless
            result.format, result.records = by_name, 0
            result.warn("empty file: no records")
        else:
            result.error("empty file", offset=0)
        return None
    window = Window(source, MAX_HEAD)
    fmt, confirmed = detect(window, source.name)
    if fmt is None:
        result.error("not a recognised sequencing format (FASTQ, SAM/BAM/CRAM, VCF/BCF)", offset=0)
        return None
    result.format = fmt + (".gz" if window.compressed and fmt in TEXT_FORMATS else "")
    if window.error is not None:
        result.error(str(window.error), offset=window.error.offset)
    elif window.truncated:
        result.error("the gzip stream ends inside a member: the file is truncated", offset=source.size)
    if not confirmed and fmt in MAGIC:
        result.error(not_confirmed(window, fmt), offset=0)
        return None
    if fmt in ("BAM", "BCF") and not window.bgzf:
        result.error(f"{fmt} must be BGZF-compressed (block gzip with the BC field)", offset=0)
    facts: HeaderFacts | None = None
    if fmt == "BAM":
        facts = check_bam_header(window, result)
    elif fmt == "BCF":
        facts = check_bcf_header(window, result)
    elif fmt == "CRAM":
        facts = check_cram_header(window, result, MAX_HEAD)
    elif fmt == "VCF":
        facts = check_vcf_text(window, result, lines_later)
    else:
        (check_sam_text if fmt == "SAM" else check_fastq_text)(window, result, lines_later)
    if fmt == "VCF" and window.compressed and not window.bgzf:
        result.warn("gzip but not BGZF: cannot be indexed with tabix (bgzip it)")
    if fmt != "CRAM" or tuple(window.raw[4:6]) in CRAM_VERSIONS:  # else no EOF container is known
        check_end(window, result, fmt)
    if facts is not None and (fmt != "VCF" or window.bgzf):
        result.bytes_read += check_index(window, result, fmt, facts)
    return fmt
