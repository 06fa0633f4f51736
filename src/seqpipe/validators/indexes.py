"""Index sidecars: found beside the data file, and read far enough to tell whether they belong to it.

A bounded read (the first INDEX_READ bytes of the index) establishes:
- its kind by magic (BAI\\1; CSI\\1 and TBI\\1 inside BGZF; a .crai is gzip text of 6 integer columns),
  and that the kind fits the data (BAM: BAI or CSI; BCF: CSI; VCF.gz: TBI or CSI);
- BAI/CSI of BAM and BCF: the reference count equals the header's (n_ref; for BCF, the ##contig count);
- TBI/CSI of VCF.gz: the columns are VCF's (sequence 1, position 2) and the sequence names (the
  contigs that have records) are contigs of the header, when it lists any;
- every virtual offset read (chunks, linear index) points inside the data file: an index made for
  a larger file points past its end;
- CRAI: reference ids within the header's, container offsets after the header container and inside
  the file, and a container header (CRC32 included) at the first entry's offset.
It cannot establish that every record is indexed, nor that the index is as new as the data: an index
of an earlier version of the same file with the same layout passes, and modification times are no
evidence (uploads arrive in any order). A missing index is a warning (it is a separate object and
may arrive after the data); an index that does not match is an error.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from seqpipe.storage.location import Location, locate
from seqpipe.validators import binary
from seqpipe.validators.integers import parse_int
from seqpipe.validators.result import ValidationResult
from seqpipe.validators.window import Window

INDEX_READ = 60 * 1024
PROBE_READ = 1024  # a container header, at a .crai entry's offset
INDEX_SUFFIXES = {"BAM": (".bai", ".csi"), "CRAM": (".crai",), "VCF": (".tbi", ".csi"), "BCF": (".csi",)}
KINDS = {"BAM": ("BAI", "CSI"), "BCF": ("CSI",), "VCF": ("TBI", "CSI")}
MAX_CRAI_LINES = 1000


@dataclass
class HeaderFacts:
    """What the data file's header says that its index must agree with."""

    n_ref: int | None = None
    contigs: list[str] = field(default_factory=list)
    data_start: int | None = None  # CRAM: the offset of the first container after the header
    cram_major: int | None = None


class IndexMismatch(Exception):
    """The index does not belong to the data file (or is not an index at all)."""


def find_index(source: Location, fmt: str) -> Location | None:
    names = [source.location + suffix for suffix in INDEX_SUFFIXES.get(fmt, ())]
    if fmt == "BAM" and source.location.endswith(".bam"):
        names.append(source.location[: -len(".bam")] + ".bai")
    return next((index for index in map(locate, names) if index.exists()), None)


def check_index(window: Window, result: ValidationResult, fmt: str, facts: HeaderFacts) -> int:
    """Find and check the index of the file in `window`; returns the bytes read from the index."""
    source = window.source
    if fmt not in INDEX_SUFFIXES:
        return 0
    index = find_index(source, fmt)
    if index is None:
        result.warn(f"no index found ({', '.join(INDEX_SUFFIXES[fmt])}): random access unavailable")
        return 0
    result.index = index.location
    raw = index.read(0, INDEX_READ)
    try:
        if fmt == "CRAM":
            check_crai(raw, index.size, source, facts)
        else:
            check_binned_index(raw, fmt, facts, source.size)
    except IndexMismatch as exc:
        result.error(f"index {index.name} does not match: {exc}")
    return index.bytes_read


def _inflated(raw: bytes) -> bytes:
    try:
        data, _ = binary.inflate(raw, limit=4 * INDEX_READ)
    except binary.DecodeError as exc:
        raise IndexMismatch(f"corrupt compressed data ({exc})") from None
    return data


def check_binned_index(raw: bytes, fmt: str, facts: HeaderFacts, data_size: int) -> None:
    data = raw if raw.startswith(b"BAI\x01") else _inflated(raw) if raw[:2] == binary.GZIP_MAGIC else raw
    kind = {b"BAI\x01": "BAI", b"CSI\x01": "CSI", b"TBI\x01": "TBI"}.get(data[:4])
    if kind not in KINDS[fmt]:
        raise IndexMismatch(f"not a {' or '.join(KINDS[fmt])} index (starts with {data[:4]!r})")
    try:
        n_ref, names, pos, meta_bin, csi = _index_header(data, kind)
    except struct.error:
        raise IndexMismatch(f"the {kind} header is cut short") from None
    if n_ref < 0:
        raise IndexMismatch(f"negative reference count {n_ref}")
    if fmt in ("BAM", "BCF") and facts.n_ref is not None and n_ref != facts.n_ref:
        raise IndexMismatch(f"it covers {n_ref} references, the header has {facts.n_ref}")
    if names is not None:
        unknown = [n for n in names if n not in facts.contigs]
        if facts.contigs and unknown:
            raise IndexMismatch(f"it names contigs the header does not have: {', '.join(unknown[:5])}")
        if len(names) != n_ref:
            raise IndexMismatch(f"{len(names)} sequence names for {n_ref} references")
    furthest = _furthest_offset(data, pos, n_ref, meta_bin, csi)
    if furthest > data_size:
        raise IndexMismatch(f"it points to byte {furthest}, past the end of the file ({data_size} bytes)")


def _index_header(data: bytes, kind: str) -> tuple[int, list[str] | None, int, int, bool]:
    """(n_ref, sequence names or None, position of the first reference, meta bin, is CSI)."""
    if kind == "BAI":
        return struct.unpack_from("<i", data, 4)[0], None, 8, 37450, False
    if kind == "TBI":
        names, pos = _tabix_names(data, 8)
        return struct.unpack_from("<i", data, 4)[0], names, pos, 37450, False
    _min_shift, depth, l_aux = struct.unpack_from("<iii", data, 4)
    if l_aux < 0 or not 0 <= depth <= 16:
        raise IndexMismatch(f"impossible CSI header (depth {depth}, l_aux {l_aux})")
    names = _tabix_names(data[16 : 16 + l_aux], 0)[0] if l_aux >= 28 else None
    meta_bin = ((1 << (3 * depth + 3)) - 1) // 7 + 1
    return struct.unpack_from("<i", data, 16 + l_aux)[0], names, 20 + l_aux, meta_bin, True


def _tabix_names(data: bytes, pos: int) -> tuple[list[str], int]:
    """The tabix configuration at `pos` (format, col_seq, col_beg, col_end, meta, skip, l_nm, names)."""
    _format, col_seq, col_beg, _col_end, _meta, _skip, l_nm = struct.unpack_from("<7i", data, pos)
    if (col_seq, col_beg) != (1, 2):
        raise IndexMismatch(f"it indexes columns {col_seq} and {col_beg}, VCF has them at 1 and 2")
    names = data[pos + 28 : pos + 28 + l_nm]
    if l_nm < 0 or len(names) < l_nm:
        raise struct.error("names cut short")
    return [n.decode("utf-8", "replace") for n in names.split(b"\0")[:-1]], pos + 28 + l_nm


def _furthest_offset(data: bytes, pos: int, n_ref: int, meta_bin: int, csi: bool) -> int:
    """The largest file offset that the chunks and linear offsets read so far point to."""
    furthest = 0
    try:
        for _ in range(n_ref):
            (n_bin,) = struct.unpack_from("<i", data, pos)
            pos += 4
            for _ in range(max(n_bin, 0)):
                (bin_number,) = struct.unpack_from("<I", data, pos)
                pos += 12 if csi else 4  # CSI bins carry a loffset
                (n_chunk,) = struct.unpack_from("<i", data, pos)
                pos += 4
                if n_chunk < 0:
                    raise IndexMismatch(f"negative chunk count {n_chunk}")
                # the meta bin's second pair is a count of mapped and unmapped reads, not offsets
                offsets = struct.unpack_from(f"<{2 * n_chunk}Q", data, pos)[
                    : 2 if bin_number == meta_bin else None
                ]
                furthest = max(furthest, *(o >> 16 for o in offsets), 0)
                pos += 16 * n_chunk
            if not csi:
                (n_intv,) = struct.unpack_from("<i", data, pos)
                offsets = struct.unpack_from(f"<{max(n_intv, 0)}Q", data, pos + 4)
                furthest = max(furthest, *(o >> 16 for o in offsets), 0)
                pos += 4 + 8 * max(n_intv, 0)
    except struct.error:
        pass  # the rest of the index is beyond the bounded read
    return furthest


def check_crai(raw: bytes, index_size: int, source: Location, facts: HeaderFacts) -> None:
    text = _inflated(raw) if raw[:2] == binary.GZIP_MAGIC else raw
    lines = text.decode("utf-8", "replace").split("\n")
    if len(raw) < index_size or not text.endswith(b"\n"):
        lines = lines[:-1]  # the last one may be cut
    first: tuple[int, int] | None = None
    for number, line in enumerate(lines[:MAX_CRAI_LINES], start=1):
        if not line:
            continue
        values = [parse_int(v) for v in line.split("\t")]
        if len(values) != 6 or None in values:
            raise IndexMismatch(f"line {number} is not 6 tab-separated integers")
        seq_id, _start, _span, container, slice_start, slice_size = values
        if seq_id < -1 or (facts.n_ref is not None and seq_id >= facts.n_ref):
            raise IndexMismatch(
                f"line {number}: reference id {seq_id}, the header has {facts.n_ref} references"
            )
        if not (facts.data_start or 0) <= container < source.size or slice_start < 0 or slice_size < 0:
            raise IndexMismatch(f"line {number}: container offset {container} is not inside the file")
        first = first or (seq_id, container)
    if first is None:
        return
    seq_id, offset = first
    try:
        container = binary.cram_container_header(
            source.read(offset, PROBE_READ), offset, facts.cram_major or 3
        )
    except (IndexError, binary.DecodeError) as exc:
        raise IndexMismatch(f"no container at offset {offset} ({exc})") from None
    if container.ref_seq_id not in (seq_id, -2):
        raise IndexMismatch(
            f"the container at offset {offset} holds reference {container.ref_seq_id}, not {seq_id}"
        )
