"""Readers for Illumina base-call files, just deep enough to check a run folder before converting it.

Formats (all little-endian):
- BCL (`.bcl`, `.bcl.gz`): uint32 cluster count, then a byte per cluster (base: bits 0-1, quality: 2-7).
- CBCL: a header (uint16 version, uint32 header size, uint8 bits per base and per quality, uint32 bin
  count and that many (bin, quality) uint32 pairs, uint32 tile count and per tile uint32 tile, clusters,
  uncompressed and compressed block size, uint8 non-PF-clusters-excluded flag), then per tile a gzip
  block of a nibble per cluster (first cluster in the low nibble; base: bits 0-1, quality bin: bits 2-3).
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

import numpy as np

from seqpipe.demux.errors import DemuxError

NO_CALL = 4  # base code of a no-call (N); 0-3 are A, C, G, T


@dataclass(frozen=True)
class CbclTile:
    tile: int
    clusters: int
    compressed_bytes: int
    uncompressed_bytes: int


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


@dataclass(frozen=True)
class CbclHeader:
    size: int
    tiles: list[CbclTile]
    pf_excluded: bool  # blocks hold only the clusters passing filter


def _cbcl_header(path: Path) -> CbclHeader:
    try:
        with path.open("rb") as fh:
            head = fh.read(6)
            (header_size,) = struct.unpack_from("<I", head, 2)
            data = head + fh.read(header_size - 6)
    except OSError as exc:
        raise DemuxError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        _version, _size, _bits_base, _bits_q, bins = struct.unpack_from("<HIBBI", data, 0)
        offset = 12 + 8 * bins
        (tiles,) = struct.unpack_from("<I", data, offset)
        offset += 4
        records = []
        for _ in range(tiles):
            tile, clusters, uncompressed, compressed = struct.unpack_from("<IIII", data, offset)
            records.append(CbclTile(tile, clusters, compressed, uncompressed))
            offset += 16
        (excluded,) = struct.unpack_from("<B", data, offset)
    except struct.error:
        raise DemuxError(f"{path}: truncated CBCL header") from None
    return CbclHeader(header_size, records, bool(excluded))


def cbcl_header(path: Path) -> CbclHeader:
    """A CBCL's header, after checking the file is as long as it says (only the header is read)."""
    header = _cbcl_header(path)
    expected = header.size + sum(r.compressed_bytes for r in header.tiles)
    size = path.stat().st_size
    if size < expected:
        raise DemuxError(f"{path}: truncated CBCL: {size} bytes, its header describes {expected}")
    return header


def cbcl_tiles(path: Path) -> list[CbclTile]:
    return cbcl_header(path).tiles


def _cbcl_tile_calls(path: Path, tile: int, passing: np.ndarray) -> np.ndarray:
    header = _cbcl_header(path)
    offset = header.size
    for record in header.tiles:
        if record.tile == tile:
            break
        offset += record.compressed_bytes
    else:
        raise DemuxError(f"{path}: tile {tile} is not in this CBCL")
    with path.open("rb") as fh:
        fh.seek(offset)
        # Instruments sometimes declare a block a byte shorter than its gzip member (the trailer's last
        # byte); Picard reads such files, so the block is read up to its uncompressed size instead.
        block = fh.read(record.compressed_bytes + 1)
    try:
        raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(block, record.uncompressed_bytes)
    except zlib.error as exc:
        raise DemuxError(f"{path}: tile {tile}: corrupt compressed block ({exc})") from None
    if len(raw) != record.uncompressed_bytes:
        raise DemuxError(
            f"{path}: tile {tile}: truncated block ({len(raw)} of {record.uncompressed_bytes} bytes)"
        )
    packed = np.frombuffer(raw, dtype=np.uint8)
    nibbles = np.empty(2 * len(packed), dtype=np.uint8)
    nibbles[0::2], nibbles[1::2] = packed & 0x0F, packed >> 4
    stored = int(passing.sum()) if header.pf_excluded else len(passing)
    if len(nibbles) < stored:
        raise DemuxError(f"{path}: tile {tile} holds {len(nibbles)} clusters, its filter file {stored}")
    calls = np.where(nibbles[:stored] == 0, NO_CALL, nibbles[:stored] & 3).astype(np.uint8)
    return calls if header.pf_excluded else calls[passing]


def tile_calls(cycle_dir: Path, lane: int, tile: int, passing: np.ndarray) -> np.ndarray:
    """One cycle's base calls (codes 0-3, NO_CALL) of a tile's clusters passing filter, BCL or CBCL.

    `passing` is the tile's filter-file mask; a CBCL that leaves non-PF clusters out is read as such."""
    for name in (f"s_{lane}_{tile}.bcl", f"s_{lane}_{tile}.bcl.gz"):
        path = cycle_dir / name
        if path.is_file():
            raw = _read(path)
            if path.suffix == ".gz":
                raw = gzip.decompress(raw)
            calls = np.frombuffer(raw, dtype=np.uint8, offset=4)
            return np.where(calls == 0, NO_CALL, calls & 3).astype(np.uint8)[passing]
    for path in sorted(cycle_dir.glob(f"L{lane:03d}_*.cbcl")):
        if any(t.tile == tile for t in _cbcl_header(path).tiles):
            return _cbcl_tile_calls(path, tile, passing)
    raise DemuxError(f"{cycle_dir}: no base calls of tile {tile}")


@dataclass(frozen=True)
class FilterFile:
    clusters: int
    passing: int


def filter_mask(path: Path) -> np.ndarray:
    """Per cluster, whether it passes filter."""
    data = _read(path)
    if len(data) < 12:
        raise DemuxError(f"{path}: truncated filter file (shorter than its 12-byte header)")
    _zero, _version, count = struct.unpack_from("<III", data, 0)
    if len(data) != 12 + count:
        raise DemuxError(
            f"{path}: filter file declares {count} clusters but holds {len(data) - 12}: truncated or corrupt"
        )
    return (np.frombuffer(data, dtype=np.uint8, offset=12) & 1).astype(bool)


def read_filter(path: Path) -> FilterFile:
    mask = filter_mask(path)
    return FilterFile(len(mask), int(mask.sum()))


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
