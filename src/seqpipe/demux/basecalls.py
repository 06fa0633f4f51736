"""Readers for Illumina base-call files, just deep enough to check a run folder before converting it.

Formats (all little-endian):
- BCL (`.bcl`, `.bcl.gz`): uint32 cluster count, then a byte per cluster (base: bits 0-1, quality: 2-7).
- CBCL: a header listing each tile's cluster count and compressed block size, then the blocks.
- filter: uint32 0, uint32 version, uint32 cluster count, then one byte per cluster (bit 0 = passes filter).
- locs: int32 1, float32 1.0, uint32 cluster count, then float32 x, y per cluster.
- clocs: uint8 version, uint32 bin count, then per bin a uint8 count and that many byte pairs.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from seqpipe.demux.errors import DemuxError


@dataclass(frozen=True)
class CbclTile:
    tile: int
    clusters: int
    compressed_bytes: int


def _read(path: Path, size: int | None = None) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read() if size is None else fh.read(size)
    except OSError as exc:
        raise DemuxError(f"{path}: cannot read ({exc.strerror})") from None


def bcl_cluster_count(path: Path) -> int:
    """The cluster count a BCL declares, after checking the file holds that many clusters (not truncated)."""
    if path.suffix != ".gz":
        head = _read(path, 4)
        if len(head) < 4:
            raise DemuxError(f"{path}: truncated BCL (shorter than its 4-byte header)")
        (count,) = struct.unpack("<I", head)
        size = path.stat().st_size
        if size != 4 + count:
            raise DemuxError(
                f"{path}: truncated or corrupt BCL: header declares {count} clusters, file has {size - 4}"
            )
        return count
    data = _read(path)
    # The gzip trailer stores the uncompressed size: a cheap test that is exact for single-member files.
    if len(data) >= 22:
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, 4)
        except zlib.error as exc:
            raise DemuxError(f"{path}: not a valid gzip-compressed BCL ({exc})") from None
        if len(head) == 4:
            (count,) = struct.unpack("<I", head)
            if struct.unpack("<I", data[-4:])[0] == (4 + count) & 0xFFFFFFFF:
                return count
    try:
        raw = gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:
        raise DemuxError(f"{path}: truncated or corrupt gzip-compressed BCL ({exc})") from None
    if len(raw) < 4 or len(raw) != 4 + struct.unpack("<I", raw[:4])[0]:
        raise DemuxError(f"{path}: truncated BCL: cluster count in its header does not match its length")
    return len(raw) - 4


def cbcl_tiles(path: Path) -> list[CbclTile]:
    data = _read(path)
    try:
        _version, header_size, _bits_base, _bits_q, bins = struct.unpack_from("<HIBBI", data, 0)
        offset = 12 + 8 * bins
        (tiles,) = struct.unpack_from("<I", data, offset)
        offset += 4
        records = []
        for _ in range(tiles):
            tile, clusters, _uncompressed, compressed = struct.unpack_from("<IIII", data, offset)
            records.append(CbclTile(tile, clusters, compressed))
            offset += 16
    except struct.error:
        raise DemuxError(f"{path}: truncated CBCL header") from None
    expected = header_size + sum(r.compressed_bytes for r in records)
    if len(data) < expected:
        raise DemuxError(f"{path}: truncated CBCL: {len(data)} bytes, its header describes {expected}")
    return records


@dataclass(frozen=True)
class FilterFile:
    clusters: int
    passing: int


def read_filter(path: Path) -> FilterFile:
    data = _read(path)
    if len(data) < 12:
        raise DemuxError(f"{path}: truncated filter file (shorter than its 12-byte header)")
    _zero, _version, count = struct.unpack_from("<III", data, 0)
    if len(data) != 12 + count:
        raise DemuxError(
            f"{path}: filter file declares {count} clusters but holds {len(data) - 12}: truncated or corrupt"
        )
    return FilterFile(count, sum(b & 1 for b in data[12:]))


@dataclass(frozen=True)
class Positions:
    declared: int  # what the header says (locs) or the clusters counted (clocs)
    stored: int  # positions actually in the file


def read_positions(path: Path) -> Positions:
    data = _read(path)
    if path.suffix == ".clocs":
        if len(data) < 5:
            raise DemuxError(f"{path}: truncated clocs file")
        (bins,) = struct.unpack_from("<I", data, 1)
        offset, clusters = 5, 0
        for _ in range(bins):
            if offset >= len(data):
                raise DemuxError(f"{path}: truncated clocs file (ends after {clusters} clusters)")
            clusters += data[offset]
            offset += 1 + 2 * data[offset]
        return Positions(clusters, clusters)
    if len(data) < 12:
        raise DemuxError(f"{path}: truncated locs file (shorter than its 12-byte header)")
    (count,) = struct.unpack_from("<I", data, 8)
    return Positions(count, (len(data) - 12) // 8)


def locs_with_count(path: Path, clusters: int) -> bytes:
    """A locs file's bytes with its header's cluster count replaced (the positions stay as they are)."""
    data = bytearray(_read(path))
    struct.pack_into("<I", data, 8, clusters)
    return bytes(data[: 12 + 8 * clusters])
