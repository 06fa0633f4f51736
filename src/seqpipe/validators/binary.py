"""Low-level decoding: BGZF/gzip members, CRAM ITF8/LTF8 integers and container headers."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

GZIP_MAGIC = b"\x1f\x8b"
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
CRAM_MAGIC = b"CRAM"
CRAM_FILE_DEFINITION = 26
CRAM3_EOF = bytes.fromhex("0f000000ffffffff0fe0454f4600000000010005bdd94f0001000606010001000100ee63014b")
CRAM21_EOF = bytes.fromhex("0b000000ffffffff0fe0454f460000000001000001000606010001000100")


class DecodeError(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def is_bgzf(head: bytes) -> bool:
    """gzip with the FEXTRA 'BC' subfield: block-compressed, hence an EOF block and random access."""
    return len(head) >= 16 and head[:2] == GZIP_MAGIC and head[3] & 4 == 4 and head[12:14] == b"BC"


def inflate(data: bytes, base_offset: int = 0, limit: int = 4 * 1024 * 1024) -> tuple[bytes, bool]:
    """Decompress consecutive gzip members, stopping after `limit` output bytes (headers never need
    more; highly compressible data must not balloon); returns (bytes, complete) where complete means
    the input ended on a member boundary. A corrupt member raises DecodeError with its byte offset."""
    out: list[bytes] = []
    pos, produced = 0, 0
    while pos < len(data) and produced < limit:
        if data[pos : pos + 2] != GZIP_MAGIC:
            raise DecodeError("not a gzip/BGZF block (bad magic)", base_offset + pos)
        member = zlib.decompressobj(31)
        try:
            out.append(member.decompress(data[pos:], limit - produced))
            produced += len(out[-1])
        except zlib.error as exc:
            raise DecodeError(f"corrupt compressed block ({exc})", base_offset + pos) from None
        if not member.eof:
            return b"".join(out), False
        pos = len(data) - len(member.unused_data)
    return b"".join(out), pos >= len(data)


def itf8(buf: bytes, pos: int) -> tuple[int, int]:
    b0 = buf[pos]
    if b0 < 0x80:
        value, size = b0, 1
    elif b0 < 0xC0:
        value, size = ((b0 & 0x3F) << 8) | buf[pos + 1], 2
    elif b0 < 0xE0:
        value, size = ((b0 & 0x1F) << 16) | (buf[pos + 1] << 8) | buf[pos + 2], 3
    elif b0 < 0xF0:
        value, size = ((b0 & 0x0F) << 24) | int.from_bytes(buf[pos + 1 : pos + 4], "big"), 4
    else:
        value = ((b0 & 0x0F) << 28) | (buf[pos + 1] << 20) | (buf[pos + 2] << 12) | (buf[pos + 3] << 4)
        value, size = value | (buf[pos + 4] & 0x0F), 5
    if value >= 1 << 31:
        value -= 1 << 32
    return value, pos + size


def ltf8(buf: bytes, pos: int) -> tuple[int, int]:
    b0 = buf[pos]
    extra = 0
    while extra < 8 and b0 & (0x80 >> extra):
        extra += 1
    value = b0 & (0xFF >> (extra + 1)) if extra < 8 else 0
    for i in range(1, extra + 1):
        value = (value << 8) | buf[pos + i]
    return value, pos + 1 + extra


@dataclass(frozen=True)
class ContainerHeader:
    offset: int
    header_size: int
    length: int  # bytes of blocks after the header
    ref_seq_id: int
    n_records: int
    n_blocks: int

    @property
    def end(self) -> int:
        return self.offset + self.header_size + self.length


def cram_container_header(buf: bytes, offset: int, major: int) -> ContainerHeader:
    """Parse a container header starting at buf[0] (file offset `offset`); IndexError when buf is short."""
    (length,) = struct.unpack_from("<i", buf, 0)
    pos = 4
    ref_seq_id, pos = itf8(buf, pos)
    _start, pos = itf8(buf, pos)
    _span, pos = itf8(buf, pos)
    n_records, pos = itf8(buf, pos)
    if major >= 3:
        _counter, pos = ltf8(buf, pos)
        _bases, pos = ltf8(buf, pos)
    else:
        _counter, pos = itf8(buf, pos)
        _bases, pos = ltf8(buf, pos)
    n_blocks, pos = itf8(buf, pos)
    n_landmarks, pos = itf8(buf, pos)
    if length < 0 or n_landmarks < 0 or n_landmarks > 1_000_000:
        raise DecodeError("implausible CRAM container header", offset)
    for _ in range(n_landmarks):
        _, pos = itf8(buf, pos)
    if major >= 3:
        pos += 4  # CRC32
    if pos > len(buf):
        raise IndexError("container header runs past the buffer")
    return ContainerHeader(offset, pos, length, ref_seq_id, n_records, n_blocks)


def cram_block(buf: bytes, pos: int, major: int) -> tuple[int, bytes, int]:
    """(compression method, raw data, position after the block); decompresses raw and gzip blocks."""
    method = buf[pos]
    pos += 2  # method, content type
    _content_id, pos = itf8(buf, pos)
    compressed, pos = itf8(buf, pos)
    _raw_size, pos = itf8(buf, pos)
    data = buf[pos : pos + compressed]
    if len(data) < compressed:
        raise IndexError("block runs past the buffer")
    pos += compressed + (4 if major >= 3 else 0)
    if method == 1:
        data = zlib.decompress(data, 31)
    return method, data, pos
