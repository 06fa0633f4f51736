"""Quick validation: format detection, magic, header, end-of-file marker, index presence.

Reads the head (growing up to MAX_HEAD bytes when a header is long) and the last few bytes, so the
cost is a handful of reads whatever the file's size.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from seqpipe.storage.location import Location, locate
from seqpipe.validators import binary
from seqpipe.validators.headers import sam_header, vcf_header
from seqpipe.validators.result import ValidationResult

FIRST_READ = 64 * 1024
MAX_HEAD = 1024 * 1024 - 4096  # leaves room for the tail read within 1 MiB

EXTENSION_FORMATS = {
    ".fastq": "FASTQ", ".fq": "FASTQ", ".fastq.gz": "FASTQ", ".fq.gz": "FASTQ",
    ".bam": "BAM", ".cram": "CRAM", ".sam": "SAM",
    ".vcf": "VCF", ".vcf.gz": "VCF", ".vcf.bgz": "VCF", ".bcf": "BCF",
}  # fmt: skip
INDEX_SUFFIXES = {"BAM": (".bai", ".csi"), "CRAM": (".crai",), "VCF": (".tbi", ".csi"), "BCF": (".csi",)}


def format_from_name(name: str) -> str | None:
    """By extension, also inside the name ('x.vcf.truncated.gz' is a VCF someone cut short)."""
    lowered = name.lower()
    for extension in sorted(EXTENSION_FORMATS, key=len, reverse=True):
        if lowered.endswith(extension):
            return EXTENSION_FORMATS[extension]
    parts = lowered.split(".")[1:]
    return next((EXTENSION_FORMATS[f".{p}"] for p in parts if f".{p}" in EXTENSION_FORMATS), None)


@dataclass
class Head:
    """The start of the file: raw bytes and, for gzip, the decompressed text of the whole members."""

    raw: bytes
    data: bytes
    compressed: bool
    bgzf: bool
    at_end: bool  # the whole file is in `raw`


def read_head(source: Location, result: ValidationResult, wanted: int = FIRST_READ) -> Head:
    raw = source.read(0, min(wanted, MAX_HEAD))
    at_end = len(raw) >= source.size
    if raw[:2] != binary.GZIP_MAGIC:
        return Head(raw, raw, False, False, at_end)
    try:
        data, _complete = binary.inflate(raw)
    except binary.DecodeError as exc:
        result.error(str(exc), offset=exc.offset)
        data = b""
    return Head(raw, data, True, binary.is_bgzf(raw), at_end)


def grow(source: Location, head: Head, result: ValidationResult) -> Head | None:
    """Read a larger head (×4, up to MAX_HEAD); None when the limit is already reached."""
    if head.at_end or len(head.raw) >= MAX_HEAD:
        return None
    return read_head(source, result, len(head.raw) * 4)


def detect(head: Head, name: str) -> str | None:
    data = head.data
    if head.raw.startswith(binary.CRAM_MAGIC):
        return "CRAM"
    if data.startswith(b"BAM\x01"):
        return "BAM"
    if data.startswith(b"BCF\x02"):
        return "BCF"
    if data.startswith(b"##fileformat=VCF"):
        return "VCF"
    by_name = format_from_name(name)
    if data.startswith(b"@"):
        # a SAM header line is "@XY<tab>..."; a FASTQ record starts "@read-name"
        return "SAM" if by_name == "SAM" or re.match(rb"@[A-Za-z][A-Za-z0-9]\t", data) else "FASTQ"
    return by_name


def check_eof(source: Location, result: ValidationResult, fmt: str, head: Head) -> None:
    if fmt == "CRAM":
        major = head.raw[4] if len(head.raw) > 4 else 0
        marker = {3: binary.CRAM3_EOF, 2: binary.CRAM21_EOF}.get(major)
        if marker is None:
            return
        if source.read(source.size - len(marker), len(marker)) != marker:
            result.error(
                "CRAM EOF container missing: the file is truncated or was not closed", offset=source.size
            )
    elif head.bgzf:
        if source.read(source.size - len(binary.BGZF_EOF), len(binary.BGZF_EOF)) != binary.BGZF_EOF:
            result.error(
                "BGZF EOF block missing: the file is truncated or was not closed", offset=source.size
            )
    elif head.compressed:
        result.warn("plain gzip, not BGZF: no EOF marker to check (deep mode reads it all)")
    else:
        tail = source.read(source.size - 1, 1)
        if source.size and tail != b"\n":
            # a warning: tools accept it; a truncation that cut a record shows up in the record checks
            result.warn("the file does not end with a newline: truncated?", offset=source.size)


def find_index(source: Location, result: ValidationResult, fmt: str) -> None:
    location = source.location
    candidates = [location + suffix for suffix in INDEX_SUFFIXES.get(fmt, ())]
    if fmt == "BAM" and location.endswith(".bam"):
        candidates.append(location[: -len(".bam")] + ".bai")
    result.index = next((c for c in candidates if locate(c).exists()), None)
    if candidates and result.index is None:
        result.warn(
            f"no index found ({', '.join(s for s in INDEX_SUFFIXES[fmt])}): random access unavailable"
        )


def check_bam_header(source: Location, result: ValidationResult, head: Head) -> None:
    while True:
        data = head.data
        try:
            (l_text,) = struct.unpack_from("<i", data, 4)
            text = data[8 : 8 + l_text]
            (n_ref,) = struct.unpack_from("<i", data, 8 + l_text)
            if l_text < 0 or n_ref < 0:
                result.error("negative header length in BAM header", offset=0)
                return
            pos, names = 12 + l_text, []
            for _ in range(n_ref):
                (l_name,) = struct.unpack_from("<i", data, pos)
                if len(data) < pos + 4 + l_name + 4:
                    raise struct.error("short")
                names.append(data[pos + 4 : pos + 3 + l_name].decode("ascii", "replace"))
                pos += 8 + l_name
            break
        except struct.error:
            bigger = grow(source, head, result)
            if bigger is None:
                if head.at_end:
                    result.error("BAM header is truncated", offset=source.size)
                else:
                    result.warn("BAM header larger than the quick-mode limit; summary incomplete")
                return
            head = bigger
    sam_header(text.rstrip(b"\0").decode("utf-8", "replace"), result, result.header)
    result.header.details["references_in_binary_header"] = len(names)
    if names and result.header.contigs and names != result.header.contigs:
        result.warn("@SQ lines and the binary reference list differ")
    if not result.header.contigs:
        result.header.contigs = names


def check_cram_header(source: Location, result: ValidationResult, head: Head) -> None:
    raw = head.raw
    if len(raw) < binary.CRAM_FILE_DEFINITION:
        result.error("shorter than the 26-byte CRAM file definition", offset=0)
        return
    major, minor = raw[4], raw[5]
    result.header.version = f"{major}.{minor}"
    if major not in (2, 3, 4):
        result.warn(f"CRAM version {major}.{minor} is not checked beyond the magic")
        return
    start = binary.CRAM_FILE_DEFINITION
    while True:
        try:
            container = binary.cram_container_header(raw[start:], start, major)
            block_start = start + container.header_size
            method, data, _ = binary.cram_block(raw, block_start, major)
            break
        except (IndexError, struct.error):
            bigger = grow(source, head, result)
            if bigger is None:
                result.error("CRAM header container is truncated", offset=start)
                return
            head, raw = bigger, bigger.raw
        except (binary.DecodeError, ValueError, OSError) as exc:
            result.error(f"unreadable CRAM header container ({exc})", offset=start)
            return
    if method not in (0, 1):
        result.warn(f"CRAM header block uses codec {method}; header summary not decoded in quick mode")
        return
    (l_text,) = struct.unpack_from("<i", data, 0)
    sam_header(data[4 : 4 + l_text].decode("utf-8", "replace"), result, result.header)


def check_vcf_header(source: Location, result: ValidationResult, head: Head, fmt: str) -> None:
    while True:
        data = head.data
        if fmt == "BCF":
            if len(data) >= 9:
                (l_text,) = struct.unpack_from("<I", data, 5)
                text = data[9 : 9 + l_text]
                result.header.details["bcf_version"] = f"{data[3]}.{data[4]}"
                if len(text) == l_text:
                    vcf_header(text.rstrip(b"\0").decode("utf-8", "replace"), result, result.header)
                    return
        else:
            probe = ValidationResult(result.location, fmt, result.mode)
            if vcf_header(data.decode("utf-8", "replace"), probe, result.header) or head.at_end:
                result.issues.extend(probe.issues)
                if not probe.issues and not result.header.version:
                    result.error("VCF header has no #CHROM line", offset=source.size)
                return
            result.header.contigs.clear()
        bigger = grow(source, head, result)
        if bigger is None:
            result.warn("VCF header larger than the quick-mode limit; summary incomplete")
            return
        head = bigger


def check_sam_head(result: ValidationResult, head: Head) -> None:
    text = head.data.decode("utf-8", "replace")
    lines = text.split("\n")
    if not head.at_end:
        lines = lines[:-1]  # the last line may be cut by the read window
    header_lines = [line for line in lines if line.startswith("@")]
    sam_header("\n".join(header_lines), result, result.header)
    body = [(n, line) for n, line in enumerate(lines, start=1) if line and not line.startswith("@")]
    if body and len(body[0][1].split("\t")) < 11:
        result.error("alignment line has fewer than 11 mandatory fields", line=body[0][0], record=1)


def check_fastq_head(result: ValidationResult, head: Head) -> None:
    from seqpipe.validators.fastq import check_records

    lines = head.data.decode("ascii", "replace").split("\n")
    if not head.at_end:
        # keep whole records only; the window may cut one
        lines = lines[: (len(lines) - 1) // 4 * 4]
    check_records(iter(lines), result, stop_after=None)


def quick_check(source: Location, result: ValidationResult) -> str | None:
    """Run the quick checks; returns the detected format (None when not recognised)."""
    if source.size == 0:
        result.error("empty file", offset=0)
        return None
    head = read_head(source, result)
    fmt = detect(head, source.name)
    if fmt is None:
        result.error("not a recognised sequencing format (FASTQ, SAM/BAM/CRAM, VCF/BCF)", offset=0)
        return None
    result.format = fmt + (".gz" if head.compressed and fmt in ("FASTQ", "VCF", "SAM") else "")
    if fmt == "BAM":
        check_bam_header(source, result, head)
    elif fmt == "CRAM":
        check_cram_header(source, result, head)
    elif fmt in ("VCF", "BCF"):
        check_vcf_header(source, result, head, fmt)
    elif fmt == "SAM":
        check_sam_head(result, head)
    elif fmt == "FASTQ":
        check_fastq_head(result, head)
    if fmt in ("BAM", "BCF") and not head.compressed:
        result.error(f"{fmt} must be BGZF-compressed", offset=0)
    if fmt == "VCF" and head.compressed and not head.bgzf:
        result.warn("gzip but not BGZF: cannot be indexed with tabix (bgzip it)")
    check_eof(source, result, fmt, head)
    find_index(source, result, fmt if fmt != "VCF" or head.bgzf else "")
    return fmt
