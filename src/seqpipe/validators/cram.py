"""CRAM structure without a reference: the file definition, the header container and its SAM header
(quick), and the chain of containers to the EOF container (deep)."""

from __future__ import annotations

import os
import struct

from seqpipe.validators import binary
from seqpipe.validators.headers import sam_header
from seqpipe.validators.indexes import HeaderFacts
from seqpipe.validators.result import ValidationResult
from seqpipe.validators.sam_text import SamTextChecker
from seqpipe.validators.window import Window

# released versions; 2.0 had no EOF container
CRAM_EOF = {(2, 1): binary.CRAM21_EOF, (3, 0): binary.CRAM3_EOF, (3, 1): binary.CRAM3_EOF}
CRAM_VERSIONS = {(2, 0), *CRAM_EOF}
FILE_HEADER_BLOCK = 0


def check_cram_header(window: Window, result: ValidationResult, max_head: int) -> HeaderFacts | None:
    """The 26-byte file definition, the header container (CRC32 in CRAM 3), its first block (the
    FILE_HEADER content type, raw or gzip: CRAM 3 §8.3) and the SAM header text in it; then the
    header of the first data container when the window holds it."""
    raw = window.raw
    if len(raw) < binary.CRAM_FILE_DEFINITION:
        result.error("shorter than the 26-byte CRAM file definition", offset=0)
        return None
    major, minor = raw[4], raw[5]
    result.header.version = f"{major}.{minor}"
    if (major, minor) not in CRAM_VERSIONS:
        result.error(f"CRAM version {major}.{minor} is not a released version (2.0, 2.1, 3.0, 3.1)", offset=4)
        return None
    start = binary.CRAM_FILE_DEFINITION
    while True:
        try:
            container = binary.cram_container_header(raw[start:], start, major)
            block = binary.cram_block(
                raw, start + container.header_size, major, start + container.header_size
            )
            break
        except IndexError:
            if not window.grow(max_head):
                cut = window.report_cut("CRAM header container", result)
                return HeaderFacts(cram_major=major) if cut else None
            raw = window.raw
        except binary.DecodeError as exc:
            result.error(f"unreadable CRAM header container: {exc}", offset=exc.offset)
            return None
    if container.end + len(CRAM_EOF.get((major, minor), b"")) > window.source.size:
        result.error("the CRAM header container runs past the end of the file", offset=start)
        return None
    if block.content_type != FILE_HEADER_BLOCK or block.method not in (0, 1):
        result.error(
            f"the header container's first block is not a raw or gzip SAM header block "
            f"(content type {block.content_type}, method {block.method})",
            offset=start + container.header_size,
        )
        return None
    try:
        content = binary.decompress_block(block, start + container.header_size)
    except binary.DecodeError as exc:
        result.error(str(exc), offset=exc.offset)
        return None
    (l_text,) = struct.unpack_from("<i", content.ljust(4, b"\0"), 0)
    if l_text < 0 or (4 + l_text > len(content) and len(content) < binary.INFLATE_LIMIT):
        result.error(f"CRAM SAM header length {l_text} does not fit its block", offset=start)
        return None
    text = content[4 : 4 + l_text].rstrip(b"\0").decode("utf-8", "replace")
    sam_header(text, result, result.header)
    SamTextChecker(result).check(text.split("\n"), whole=4 + l_text <= len(content))
    check_first_container(window, result, container.end, major)
    return HeaderFacts(n_ref=len(result.header.contigs), data_start=container.end, cram_major=major)


def check_first_container(window: Window, result: ValidationResult, offset: int, major: int) -> None:
    """The header of the container after the header container, when the window holds it."""
    try:
        binary.cram_container_header(window.raw[offset:], offset, major)
    except IndexError:
        if window.at_end:
            result.error("the file ends inside the first data container's header", offset=offset)
    except binary.DecodeError as exc:
        result.error(f"unreadable first data container: {exc}", offset=exc.offset)


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
            except (IndexError, binary.DecodeError) as exc:
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
    if major >= 3 and (last is None or not last.is_eof):
        result.error("the last container is not the EOF container (truncated)", offset=size)
