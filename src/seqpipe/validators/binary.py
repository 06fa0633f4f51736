"""Low-level decoding: BGZF/gzip members, CRAM ITF8/LTF8 integers, container headers and blocks.

Every length read from a file is a claim: nothing here allocates or inflates by a claimed size, only
by the bytes at hand (and an output cap), so a length field saying "4 GB" costs nothing.
"""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from dataclasses import dataclass

GZIP_MAGIC = b"\x1f\x8b"
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
BGZF_MAX_BLOCK = 65536
CRAM_MAGIC = b"CRAM"
CRAM_FILE_DEFINITION = 26
CRAM3_EOF = bytes.fromhex("0f000000ffffffff0fe0454f4600000000010005bdd94f0001000606010001000100ee63014b")
CRAM21_EOF = bytes.fromhex("0b000000ffffffff0fe0454f460000000001000001000606010001000100")
INFLATE_LIMIT = 4 * 1024 * 1024  # headers never need more; a compression bomb must not balloon


class DecodeError(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def bgzf_block_size(buf: bytes, pos: int = 0) -> int | None:
    """Total size of the BGZF block starting at buf[pos] (its BSIZE + 1), from the 'BC' subfield of the
    gzip FEXTRA field; None when no gzip header with that subfield is there (or it is cut short)."""
    if buf[pos : pos + 4] != b"\x1f\x8b\x08\x04" or len(buf) < pos + 12:
        return None
    (xlen,) = struct.unpack_from("<H", buf, pos + 10)
    extra = buf[pos + 12 : pos + 12 + xlen]
    i = 0
    while i + 4 <= len(extra):
        (slen,) = struct.unpack_from("<H", extra, i + 2)
        if extra[i : i + 2] == b"BC" and slen == 2 and i + 6 <= len(extra):
            return struct.unpack_from("<H", extra, i + 4)[0] + 1
        i += 4 + slen
    return None


def is_bgzf(head: bytes) -> bool:
    """gzip with the FEXTRA 'BC' subfield: block-compressed, hence an EOF block and random access."""
    return bgzf_block_size(head) is not None


def inflate(data: bytes, base_offset: int = 0, limit: int = INFLATE_LIMIT) -> tuple[bytes, bool]:
    """Decompress consecutive gzip members, stopping after `limit` output bytes; returns (bytes,
    complete) where complete means the input ended on a member boundary. A corrupt member (bad data,
    CRC or length) raises DecodeError with its byte offset."""
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


def last_bgzf_block(tail: bytes, tail_offset: int) -> tuple[int, bytes]:
    """The BGZF block that ends where `tail` ends (`tail` starts at file offset `tail_offset`):
    (its file offset, its decompressed bytes). DecodeError when no block ends there or it is corrupt."""
    pos = tail.find(b"\x1f\x8b\x08\x04")
    while pos >= 0:
        size = bgzf_block_size(tail, pos)
        if size is not None and pos + size == len(tail):
            member = zlib.decompressobj(31)
            try:
                data = member.decompress(tail[pos:], BGZF_MAX_BLOCK + 1)
            except zlib.error as exc:
                raise DecodeError(f"corrupt last BGZF block ({exc})", tail_offset + pos) from None
            if not member.eof or member.unused_data or len(data) > BGZF_MAX_BLOCK:
                raise DecodeError("the last BGZF block does not decompress to its own end", tail_offset + pos)
            return tail_offset + pos, data
        pos = tail.find(b"\x1f\x8b\x08\x04", pos + 1)
    raise DecodeError(
        "no BGZF block ends where the EOF block starts: the file is damaged near its end",
        tail_offset + len(tail),
    )


def itf8(buf: bytes, pos: int) -> tuple[int, int]:
    """(value, next position); IndexError when buf ends inside the number."""
    b0 = buf[pos]
    if b0 < 0x80:
        value, size = b0, 1
    elif b0 < 0xC0:
        value, size = ((b0 & 0x3F) << 8) | buf[pos + 1], 2
    elif b0 < 0xE0:
        value, size = ((b0 & 0x1F) << 16) | (buf[pos + 1] << 8) | buf[pos + 2], 3
    elif b0 < 0xF0:
        value, size = ((b0 & 0x0F) << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3], 4
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
    if value >= 1 << 63:
        value -= 1 << 64
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

    @property
    def is_eof(self) -> bool:
        return self.ref_seq_id == -1 and self.n_records == 0


MAX_LANDMARKS = 1 << 20


def cram_container_header(buf: bytes, offset: int, major: int) -> ContainerHeader:
    """Parse a container header starting at buf[0] (file offset `offset`); IndexError when buf is
    short, DecodeError when the header is impossible or (CRAM 3) its CRC32 does not match."""
    if len(buf) < 4:
        raise IndexError("container header runs past the buffer")
    (length,) = struct.unpack_from("<i", buf, 0)
    pos = 4
    ref_seq_id, pos = itf8(buf, pos)
    _start, pos = itf8(buf, pos)
    _span, pos = itf8(buf, pos)
    n_records, pos = itf8(buf, pos)
    _counter, pos = ltf8(buf, pos) if major >= 3 else itf8(buf, pos)
    _bases, pos = ltf8(buf, pos)
    n_blocks, pos = itf8(buf, pos)
    n_landmarks, pos = itf8(buf, pos)
    if length < 0 or n_records < 0 or n_blocks < 0 or not 0 <= n_landmarks <= MAX_LANDMARKS:
        raise DecodeError("impossible CRAM container header (negative length or count)", offset)
    for _ in range(n_landmarks):
        _, pos = itf8(buf, pos)
    if major >= 3:
        if pos + 4 > len(buf):
            raise IndexError("container header runs past the buffer")
        if zlib.crc32(buf[:pos]) != struct.unpack_from("<I", buf, pos)[0]:
            raise DecodeError("CRAM container header CRC32 mismatch", offset)
        pos += 4
    if pos > len(buf):
        raise IndexError("container header runs past the buffer")
    return ContainerHeader(offset, pos, length, ref_seq_id, n_records, n_blocks)


@dataclass(frozen=True)
class Block:
    method: int
    content_type: int
    raw_size: int
    data: bytes  # as stored (compressed unless method 0)
    end: int  # position after the block in the buffer it came from


def cram_block(buf: bytes, pos: int, major: int, offset: int) -> Block:
    """The block at buf[pos] (file offset `offset`); IndexError when buf ends inside it, DecodeError
    when its sizes are impossible or (CRAM 3) its CRC32 does not match."""
    start = pos
    method, content_type = buf[pos], buf[pos + 1]
    _content_id, pos = itf8(buf, pos + 2)
    compressed, pos = itf8(buf, pos)
    raw_size, pos = itf8(buf, pos)
    if compressed < 0 or raw_size < 0:
        raise DecodeError("negative CRAM block size", offset)
    if pos + compressed + (4 if major >= 3 else 0) > len(buf):
        raise IndexError("block runs past the buffer")
    data = buf[pos : pos + compressed]
    pos += compressed
    if major >= 3:
        if zlib.crc32(buf[start:pos]) != struct.unpack_from("<I", buf, pos)[0]:
            raise DecodeError("CRAM block CRC32 mismatch", offset)
        pos += 4
    return Block(method, content_type, raw_size, data, pos)


def decompress_block(block: Block, offset: int, limit: int = INFLATE_LIMIT) -> bytes:
    """A block's content for the methods Python has (raw, gzip, bzip2, lzma), at most `limit` bytes.
    DecodeError for another method or corrupt data."""
    if block.method == 0 or block.raw_size == 0:
        return block.data[:limit]
    decompressors = {1: lambda: zlib.decompressobj(31), 2: bz2.BZ2Decompressor, 3: lzma.LZMADecompressor}
    if block.method not in decompressors:
        raise DecodeError(f"CRAM block compression method {block.method} is not decoded here", offset)
    try:
        return decompressors[block.method]().decompress(block.data, limit)
    except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
        raise DecodeError(f"corrupt compressed CRAM block ({exc})", offset) from None
