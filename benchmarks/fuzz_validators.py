"""Seeded fuzzing of the validators: mutated FASTQ, SAM, BAM, CRAM, VCF, BCF files (with their
indexes) and run folders through `validate()`, quick and deep, in worker processes under a watchdog.

    .venv/bin/python benchmarks/fuzz_validators.py --inputs 100000             # per format, all formats
    .venv/bin/python benchmarks/fuzz_validators.py --inputs 300 --json         # the CI slice
    .venv/bin/python benchmarks/fuzz_validators.py --replay BAM:1234 --save /tmp/case   # one input again
    .venv/bin/python benchmarks/fuzz_validators.py --start 5000 --inputs 1000 --json > shard-5000.json
    .venv/bin/python benchmarks/fuzz_validators.py --merge shard-*.json          # a campaign in shards

Input i of format F under --seed S is a pure function of (S, F, i): every finding can be replayed, and
a campaign can run in shards (--start I --inputs N: inputs I to I+N-1 of every format) at different
times; --merge adds their JSON up (and refuses shards that overlap, or of different seeds).
Seeds are the repository's own test files (tests/dataplane/data) and files htslib makes from them
(SAM text, BCF, BAI, CRAI, TBI, CSI), plus a minimal run folder. Each input stacks 1-3 mutations:
bit flips, byte patches, truncations, range deletions and duplications, splices from another seed;
for BGZF and gzip files half of the mutations act on the decompressed content, which is then
recompressed (random block sizes), so they reach the parsers behind the CRC checks; BGZF block drops,
swaps, splices and a misplaced EOF block; huge length fields (BGZF BSIZE/ISIZE, BAM l_text, n_ref,
l_name, block_size, l_read_name, n_cigar_op, l_seq; BCF l_text, l_shared, l_indiv; CRAM container
length, ITF8/LTF8 fields and block sizes, with the CRC32s recomputed so the parser reads on; the
BAI's n_ref, n_bin and n_chunk; indexes also bit-flipped, cut or left out); deep nesting (<<<, [[[,
quotes, backslashes; nested XML and entity expansion in RunInfo.xml); gigantic lines (64 KiB to
32 MiB: meta lines, @CO, read names, sample columns, a BAM/CRAM/BCF header text); huge numbers (20
and 5000 digits, 2^31, ploidies).

Why a plain seeded mutator rather than atheris or hypothesis: atheris needs an instrumented
build and explores bytes, not formats; hypothesis's strategies and shrinking cost far more per example
than the validation itself (hundreds of thousands of runs are the point here), and its example
database is not a reproducible address of an input. The mutator is format-aware, costs about a
millisecond per input, and (seed, format, index) names each input exactly.

Each input is validated in quick and in deep mode. Checked per call: a ValidationResult comes back
(no exception escapes); no issue says "validation could not complete" (an exception caught inside
is a crash as well; a deep child killed by a signal is an htslib crash, isolated but counted); no
call takes over 10 s (a call over it is timed again, and is a timeout proper only if it also used
10 s of CPU: on a machine shared with other work a call can wait that long for a core); quick mode
reads at most QUICK_READ_LIMIT bytes; the peak resident memory of each input stays under 500 MB: in
the worker (quick mode, and deep mode's parent side, run in it) and in each deep-mode child (os.wait4
in place of the os.waitpid the validators call). Workers are persistent and fork only where deep mode
itself forks: an input is made in the worker, then the heap its making freed goes back to the system
(malloc_trim) and the worker's peak (VmHWM) is reset to its resident memory of then (5 written to
/proc/self/clear_refs), so the peak read after the calls is that input's alone. A deep child
stopped by its memory budget is counted apart (the input is refused, as it must be, and nothing
else is hurt). Workers have an address-space ceiling of 2 GiB (a blow-up becomes a finding, not a
machine out of memory); a worker busy with one input for HANG_LIMIT seconds is killed with its
children and the input recorded. Findings (with the input files, up to 1 MiB) go to --findings.
"""

from __future__ import annotations

import argparse
import ctypes
import gzip
import itertools
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import signal
import struct
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from seqpipe.validators import ValidationResult, validate  # noqa: E402
from seqpipe.validators.deep import INCOMPLETE  # noqa: E402
from seqpipe.validators.quick import QUICK_READ_LIMIT  # noqa: E402

DATA = REPO / "tests" / "dataplane" / "data"
FORMATS = ("FASTQ", "FASTQ.gz", "SAM", "BAM", "CRAM", "VCF", "VCF.gz", "BCF", "RUN")
TIME_LIMIT = 10.0
MEMORY_LIMIT = 500 * 10**6
HANG_LIMIT = 120.0
WORKER_ADDRESS_SPACE = 2 * 1024**3
CHUNK = 50
SAVE_LIMIT = 1024 * 1024
MAX_INPUT = 48 * 1024 * 1024  # stacked mutations stop growing an input here (the worker has 2 GiB)
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
INTERESTING_32 = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x40000000)
HUGE_NUMBERS = (
    "99999999999999999999",
    "-2147483649",
    "4294967296",
    "2147483648",
    "1" * 5000,
    "0" * 4999 + "1",
)
GIANT_SIZES = ((1 << 16, 50), (1 << 20, 30), (1 << 23, 15), (1 << 25, 5))
RUN_INFO = (
    '<?xml version="1.0"?>\n<RunInfo Version="2"><Run Id="240101_M00001_0001_000000000-ABCDE" Number="1">'
    "<Flowcell>000000000-ABCDE</Flowcell><Instrument>M00001</Instrument><Date>240101</Date><Reads>"
    '<Read Number="1" NumCycles="3" IsIndexedRead="N"/><Read Number="2" NumCycles="2" IsIndexedRead="Y"/>'
    '</Reads><FlowcellLayout LaneCount="1" SurfaceCount="1" SwathCount="1" TileCount="1"/></Run></RunInfo>\n'
)


# ---- seeds ------------------------------------------------------------------------------------------


@dataclass
class Seed:
    name: str  # the file name written (its extension matters to the validators)
    data: bytes
    layer: str  # text, bgzf, gzip, cram, run
    sidecars: dict[str, bytes] = field(default_factory=dict)  # suffix → index bytes


def bgzf(content: bytes, rng: random.Random | None = None, eof: bool = True) -> bytes:
    """BGZF blocks of `content` (random block sizes when an rng is given), then the EOF block."""
    out, pos = [], 0
    while pos < len(content) or not out:
        size = rng.choice((65280, 65280, rng.randint(1, 65280), rng.randint(1, 64))) if rng else 65280
        piece = content[pos : pos + size]
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        payload = compressor.compress(piece) + compressor.flush()
        header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"
        out.append(header + struct.pack("<H", len(payload) + 25) + payload)
        out.append(struct.pack("<II", zlib.crc32(piece), len(piece)))
        pos += len(piece)
        if not content:
            break
    return b"".join(out) + (BGZF_EOF if eof else b"")


def gunzip(data: bytes) -> bytes:
    """The content of gzip members, as far as they decompress (an earlier mutation may have broken one)."""
    out, pos = [], 0
    while pos < len(data):
        member = zlib.decompressobj(31)
        try:
            out.append(member.decompress(data[pos:]))
        except zlib.error:
            break
        if not member.eof:
            break
        pos = len(data) - len(member.unused_data)
    return b"".join(out)


def build_seeds(work: Path) -> dict[str, list[Seed]]:
    """The seeds, made once: repository files and what htslib derives from them."""
    import pysam

    work.mkdir(parents=True, exist_ok=True)
    for name in ("ok.bam", "ok.cram", "NA12891.vcf", "NA12891.vcf.gz", "reads_R1.fastq.gz"):
        shutil.copy(DATA / name, work / name)
    pysam.index(str(work / "ok.bam"))
    pysam.index(str(work / "ok.cram"))
    pysam.tabix_index(str(work / "NA12891.vcf.gz"), preset="vcf", force=True)
    with (
        pysam.VariantFile(str(work / "NA12891.vcf")) as vcf,
        pysam.VariantFile(str(work / "NA12891.bcf"), "wb", header=vcf.header) as bcf,
    ):
        for record in vcf:
            bcf.write(record)
    pysam.tabix_index(str(work / "NA12891.bcf"), preset="bcf", force=True, csi=True, keep_original=True)
    fastq = gzip.decompress((work / "reads_R1.fastq.gz").read_bytes())
    sam = pysam.view("-h", str(work / "ok.bam")).encode()
    read = lambda name: (work / name).read_bytes()  # noqa: E731
    return {
        "FASTQ": [Seed("reads.fastq", fastq, "text")],
        "FASTQ.gz": [Seed("reads.fastq.gz", read("reads_R1.fastq.gz"), "bgzf"),
                     Seed("plain.fastq.gz", gzip.compress(fastq, 6), "gzip")],
        "SAM": [Seed("ok.sam", sam, "text")],
        "BAM": [Seed("ok.bam", read("ok.bam"), "bgzf", {".bai": read("ok.bam.bai")})],
        "CRAM": [Seed("ok.cram", read("ok.cram"), "cram", {".crai": read("ok.cram.crai")})],
        "VCF": [Seed("NA12891.vcf", read("NA12891.vcf"), "text")],
        "VCF.gz": [Seed("NA12891.vcf.gz", read("NA12891.vcf.gz"), "bgzf",
                        {".tbi": read("NA12891.vcf.gz.tbi")})],
        "BCF": [Seed("NA12891.bcf", read("NA12891.bcf"), "bgzf", {".csi": read("NA12891.bcf.csi")})],
        "RUN": [Seed("run", RUN_INFO.encode(), "run")],
    }  # fmt: skip


# ---- byte-level mutations --------------------------------------------------------------------------


def flip_bits(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data or b"\0")
    for _ in range(rng.randint(1, 16)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def patch_bytes(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data or b"\0")
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] = rng.choice((0, 0xFF, 0x7F, 0x80, 0x0A, 0x09, rng.randrange(256)))
    return bytes(out)


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def delete_range(rng: random.Random, data: bytes) -> bytes:
    start = rng.randrange(len(data) + 1)
    return data[:start] + data[start + rng.randint(1, 1 + len(data) // 4) :]


def duplicate_range(rng: random.Random, data: bytes) -> bytes:
    start = rng.randrange(len(data) + 1)
    piece = data[start : start + rng.randint(1, 4096)]
    return data[:start] + piece * rng.choice((2, 3, 17, 1000)) + data[start:]


def splice(rng: random.Random, data: bytes, other: bytes) -> bytes:
    """A piece of another seed (or of the same file) written over or into a random place."""
    source = other if rng.random() < 0.5 else data
    start = rng.randrange(len(source) + 1)
    piece = source[start : start + rng.randint(1, 8192)]
    at = rng.randrange(len(data) + 1)
    return data[:at] + piece + data[at + (len(piece) if rng.random() < 0.5 else 0) :]


def patch_int(rng: random.Random, data: bytes, offset: int, size: int = 4) -> bytes:
    """A length field set to a value that means trouble (0, -1, 2^31 - 1, 2^32 - 1, ...)."""
    if offset < 0 or offset + size > len(data):
        return flip_bits(rng, data)
    value = rng.choice(INTERESTING_32) & ((1 << (8 * size)) - 1)
    return data[:offset] + value.to_bytes(size, "little") + data[offset + size :]


BYTE_MUTATIONS = (flip_bits, patch_bytes, truncate, delete_range, duplicate_range)


# ---- text mutations (FASTQ, SAM, VCF and header texts) ---------------------------------------------------


def giant_size(rng: random.Random) -> int:
    sizes, weights = zip(*GIANT_SIZES, strict=True)
    return rng.choices(sizes, weights)[0]


def lines_of(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def giant_line(rng: random.Random, data: bytes) -> bytes:
    lines = lines_of(data)
    size = giant_size(rng)
    prefix = rng.choice((b"##x=", b'##INFO=<ID=X,Description="', b"@CO\t", b"@", b"#CHROM\t", b"", b"1\t1\t"))
    unit = rng.choice((b"A", b"\t", b"A\t", b"0|0\t", b"AB\t", b",", b";", b"=", b":"))
    line = prefix + unit * (size // len(unit))
    lines.insert(rng.randrange(len(lines) + 1), line)
    return b"\n".join(lines)


def huge_number(rng: random.Random, data: bytes) -> bytes:
    digits = [i for i, byte in enumerate(data) if 48 <= byte <= 57]
    if not digits:
        return giant_line(rng, data)
    at = rng.choice(digits)
    end = at
    while end < len(data) and 48 <= data[end] <= 57:
        end += 1
    return data[:at] + rng.choice(HUGE_NUMBERS).encode() + data[end:]


def deep_nesting(rng: random.Random, data: bytes) -> bytes:
    depth = rng.choice((100, 10_000, 1_000_000))
    opener, closer = rng.choice(
        ((b"<", b">"), (b"[", b"]"), (b'"', b'"'), (b"\\", b""), (b"(", b")"), (b"{", b"}"))
    )
    at = rng.randrange(len(data) + 1)
    return data[:at] + opener * depth + closer * (depth if rng.random() < 0.5 else 0) + data[at:]


def repeat_line(rng: random.Random, data: bytes) -> bytes:
    lines = lines_of(data)
    at = rng.randrange(len(lines))
    lines[at:at] = [lines[at]] * min(rng.choice((2, 100, 10_000, 100_000)), MAX_INPUT // (len(lines[at]) + 1))
    return b"\n".join(lines)


def mangle_fields(rng: random.Random, data: bytes) -> bytes:
    """Tab-separated fields dropped, swapped, duplicated, emptied, or multiplied."""
    lines = lines_of(data)
    at = rng.randrange(len(lines))
    fields = lines[at].split(b"\t")
    choice = rng.randrange(5)
    i = rng.randrange(len(fields))
    if choice == 0:
        del fields[i]
    elif choice == 1:
        j = rng.randrange(len(fields))
        fields[i], fields[j] = fields[j], fields[i]
    elif choice == 2:
        fields[i] = b""
    elif choice == 3:
        fields[i:i] = [fields[i]] * min(rng.choice((2, 1000, 100_000)), MAX_INPUT // (len(fields[i]) + 1))
    else:
        fields[i] = rng.choice(
            (b"0/" * 50_000 + b"0", b"1M" * 100_000, b"A" * 100_000, b"\xc2\xb2", b"\xd9\xa3", b".")
        )
    lines[at] = b"\t".join(fields)
    return b"\n".join(lines)


def odd_bytes(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    junk = rng.choice(
        (b"\xff\xfe", b"\x00", b"\r", b"\xc2\xb2", b"\xd9\xa3", b"\xef\xbb\xbf", b"\x1b[31m", b"\t\t")
    )
    return data[:at] + junk * rng.randint(1, 64) + data[at:]


TEXT_MUTATIONS = (giant_line, huge_number, deep_nesting, repeat_line, mangle_fields, odd_bytes)


def mutate_text(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    mutation = rng.choice(TEXT_MUTATIONS + BYTE_MUTATIONS)
    return mutation(rng, data), mutation.__name__


# ---- binary formats: length fields in the decompressed content --------------------------------------------


def bam_fields(content: bytes) -> list[tuple[int, int]]:
    """(offset, size) of the BAM length fields of the header and the first record."""
    try:
        (l_text,) = struct.unpack_from("<i", content, 4)
        fields = [(4, 4), (8 + l_text, 4)]
        pos = 12 + l_text
        (n_ref,) = struct.unpack_from("<i", content, 8 + l_text)
        for _ in range(min(n_ref, 8)):
            (l_name,) = struct.unpack_from("<i", content, pos)
            fields += [(pos, 4), (pos + 4 + l_name, 4)]
            pos += 8 + l_name
        # first record: block_size, l_read_name, n_cigar_op, l_seq
        fields += [(pos, 4), (pos + 12, 1), (pos + 16, 2), (pos + 20, 4)]
    except struct.error:
        return [(4, 4)]
    return fields


def bcf_fields(content: bytes) -> list[tuple[int, int]]:
    """BCF l_text and the first record's l_shared, l_indiv, n_allele/n_info, n_fmt/n_sample."""
    try:
        (l_text,) = struct.unpack_from("<I", content, 5)
    except struct.error:
        return [(5, 4)]
    pos = 9 + l_text
    return [(5, 4), (pos, 4), (pos + 4, 4), (pos + 24, 4), (pos + 28, 4), (pos + 32, 1)]


def header_text_swap(rng: random.Random, content: bytes, fmt: str) -> bytes:
    """The header text (BAM l_text or BCF l_text) replaced by a mutated one, lengths kept true."""
    at = 4 if fmt == "BAM" else 5
    try:
        (l_text,) = struct.unpack_from("<I", content, at)
    except struct.error:
        return content
    text, _ = mutate_text(rng, content[at + 4 : at + 4 + l_text])
    return content[:at] + struct.pack("<I", len(text)) + text + content[at + 4 + l_text :]


def mutate_content(rng: random.Random, content: bytes, fmt: str) -> tuple[bytes, str]:
    if fmt in ("BAM", "BCF"):
        choice = rng.randrange(4)
        if choice == 0:
            offset, size = rng.choice(bam_fields(content) if fmt == "BAM" else bcf_fields(content))
            return patch_int(rng, content, offset, size), "length_field"
        if choice == 1:
            return header_text_swap(rng, content, fmt), "header_text"
    if fmt in ("BAM", "BCF") or rng.random() < 0.3:
        mutation = rng.choice(BYTE_MUTATIONS)
        return mutation(rng, content), mutation.__name__
    return mutate_text(rng, content)


# ---- BGZF and gzip containers ------------------------------------------------------------------------------


def bgzf_blocks(data: bytes) -> list[bytes]:
    blocks, pos = [], 0
    while pos + 18 <= len(data):
        size = struct.unpack_from("<H", data, pos + 16)[0] + 1
        blocks.append(data[pos : pos + size])
        pos += size
    if pos < len(data):
        blocks.append(data[pos:])
    return blocks


def mutate_blocks(rng: random.Random, data: bytes, other: bytes) -> tuple[bytes, str]:
    blocks = bgzf_blocks(data)
    if not blocks:  # an earlier mutation left nothing: splice in a block of the other file
        return b"".join(bgzf_blocks(other)[:1]), "bgzf_block"
    choice = rng.randrange(7)
    i = rng.randrange(len(blocks))
    if choice == 0:
        del blocks[i]
    elif choice == 1:
        blocks.insert(i, blocks[i])
    elif choice == 2:
        j = rng.randrange(len(blocks))
        blocks[i], blocks[j] = blocks[j], blocks[i]
    elif choice == 3:
        blocks.insert(i, rng.choice(bgzf_blocks(other)))
    elif choice == 4:
        blocks.insert(i, BGZF_EOF)
    elif choice == 5:  # BSIZE
        block = blocks[i]
        blocks[i] = patch_int(rng, block, 16, 2) if len(block) >= 18 else block
    else:  # ISIZE (the claimed decompressed size) or XLEN
        block = blocks[i]
        blocks[i] = (
            patch_int(rng, block, len(block) - 4, 4) if rng.random() < 0.5 else patch_int(rng, block, 10, 2)
        )
    return b"".join(blocks), "bgzf_block"


def mutate_compressed(rng: random.Random, seed: Seed, other: Seed, fmt: str) -> tuple[bytes, str]:
    if rng.random() < 0.5:
        content, name = mutate_content(rng, gunzip(seed.data), fmt.replace(".gz", ""))
        if seed.layer == "gzip":
            return gzip.compress(content, 6), name
        return bgzf(content, rng, eof=rng.random() < 0.95), name
    if seed.layer == "bgzf" and rng.random() < 0.5:
        return mutate_blocks(rng, seed.data, other.data)
    mutation = rng.choice(BYTE_MUTATIONS)
    return mutation(rng, seed.data), mutation.__name__


# ---- CRAM ----------------------------------------------------------------------------------------------


def itf8_bytes(value: int) -> bytes:
    value &= 0xFFFFFFFF
    if value < 0x80:
        return bytes([value])
    if value < 0x4000:
        return bytes([0x80 | value >> 8, value & 0xFF])
    if value < 0x200000:
        return bytes([0xC0 | value >> 16, value >> 8 & 0xFF, value & 0xFF])
    if value < 0x10000000:
        return bytes([0xE0 | value >> 24, value >> 16 & 0xFF, value >> 8 & 0xFF, value & 0xFF])
    return bytes(
        [0xF0 | value >> 28, value >> 20 & 0xFF, value >> 12 & 0xFF, value >> 4 & 0xFF, value & 0x0F]
    )


def cram_sections(data: bytes) -> list[tuple[str, int, int]]:
    """(kind, start, end) of container headers and blocks, walked from the file definition."""
    from seqpipe.validators import binary

    sections, pos = [], 26
    while pos < len(data):
        try:
            header = binary.cram_container_header(data[pos:], pos, 3)
        except (IndexError, binary.DecodeError):
            break
        sections.append(("container", pos, pos + header.header_size))
        block_pos = pos + header.header_size
        for _ in range(header.n_blocks):
            try:
                block = binary.cram_block(data, block_pos, 3, block_pos)
            except (IndexError, binary.DecodeError):
                break
            sections.append(("block", block_pos, block.end))
            block_pos = block.end
        pos = header.end
    return sections


def fix_crcs(data: bytes) -> bytes:
    """Recompute every container-header and block CRC32 that the walk reaches (CRAM 3)."""
    out = bytearray(data)
    for _, start, end in cram_sections(data):
        out[end - 4 : end] = struct.pack("<I", zlib.crc32(bytes(out[start : end - 4])))
    return bytes(out)


def cram_header_text(rng: random.Random, data: bytes) -> bytes:
    """A new header container around a mutated SAM header (one raw block, CRCs right)."""
    from seqpipe.validators import binary

    sections = cram_sections(data)
    if len(sections) < 2 or sections[1][0] != "block":
        return data
    block_start = sections[1][1]
    first_data = next((start for kind, start, _ in sections[1:] if kind == "container"), len(data))
    block = binary.cram_block(data, block_start, 3, block_start)
    raw = binary.decompress_block(block, block_start, limit=1 << 30)
    (l_text,) = struct.unpack_from("<i", raw, 0)
    new_text, _ = mutate_text(rng, raw[4 : 4 + l_text])
    payload = struct.pack("<i", len(new_text)) + new_text
    body = bytes([0, 0]) + itf8_bytes(0) + itf8_bytes(len(payload)) * 2 + payload
    body += struct.pack("<I", zlib.crc32(body))
    # length, ref id, start, span, records, counter and bases (LTF8 0), blocks, landmarks
    fields = struct.pack("<i", len(body)) + itf8_bytes(0) * 4 + b"\0\0" + itf8_bytes(1) + itf8_bytes(0)
    return data[:26] + fields + struct.pack("<I", zlib.crc32(fields)) + body + data[first_data:]


def mutate_cram(rng: random.Random, seed: Seed, other: Seed) -> tuple[bytes, str]:
    data = seed.data
    sections = cram_sections(data)
    choice = rng.randrange(5)
    if choice == 0 and sections:  # a length field or ITF8 in a container header or block header
        kind, start, end = rng.choice(sections)
        if kind == "container" and rng.random() < 0.4:
            return fix_crcs(patch_int(rng, data, start, 4)), "cram_container_length"
        at = rng.randrange(
            start + (0 if kind == "container" else 2), max(start + 3, min(end - 4, start + 24))
        )
        huge = rng.choice(
            (b"\xff\xff\xff\xff\x0f", b"\xf7\xff\xff\xff\x0f", b"\xe0\xff\xff\xff", b"\x80\x00")
        )
        return fix_crcs(data[:at] + huge + data[at + len(huge) :]), "cram_itf8"
    if choice == 1:
        return cram_header_text(rng, data), "cram_header_text"
    if choice == 2:  # bytes inside, with the checksums made right again so the parsers read on
        mutation = rng.choice((*BYTE_MUTATIONS[:2], duplicate_range))
        return fix_crcs(mutation(rng, data)), f"{mutation.__name__}+crc"
    if choice == 3:
        return splice(rng, data, other.data), "splice"
    mutation = rng.choice(BYTE_MUTATIONS)
    return mutation(rng, data), mutation.__name__


# ---- run folders ----------------------------------------------------------------------------------------


def mutate_run_info(rng: random.Random, text: bytes) -> tuple[bytes, str]:
    choice = rng.randrange(4)
    if choice == 0:
        attribute = rng.choice((b'NumCycles="3"', b'LaneCount="1"', b'Number="1"', b'NumCycles="2"'))
        value = rng.choice((b"999999999", b"-1", b"0", b"1" * 5000, b"2147483648", b"x"))
        return text.replace(attribute, attribute.split(b"=")[0] + b'="' + value + b'"', 1), "run_number"
    if choice == 1:
        depth = rng.choice((1000, 100_000))
        return text.replace(b"<Reads>", b"<Reads>" + b"<a>" * depth + b"</a>" * depth, 1), "xml_nesting"
    if choice == 2:  # entity expansion: 10^levels copies; expat stops the largest ones itself
        levels = rng.choice((3, 4, 5, 6, 6, 9))
        entities = b"".join(
            b'<!ENTITY e%d "%s">' % (i, (b"&e%d;" % (i - 1)) * 10 if i else b"lol") for i in range(levels + 1)
        )
        bomb = b'<?xml version="1.0"?>\n<!DOCTYPE RunInfo [' + entities + b"]>\n"
        return bomb + text.split(b"\n", 1)[1].replace(
            b"<Flowcell>", b"<Flowcell>&e%d;" % levels, 1
        ), "xml_entities"
    return mutate_text(rng, text)


def write_run_folder(rng: random.Random, folder: Path, run_info: bytes) -> None:
    folder.mkdir(parents=True)
    (folder / "RunInfo.xml").write_bytes(run_info)
    if rng.random() < 0.9:
        (folder / "RTAComplete.txt").write_text("done")
    cycles = rng.choice((5, 5, 5, 3, 0))
    for cycle in range(1, cycles + 1):
        cycle_dir = folder / "Data" / "Intensities" / "BaseCalls" / "L001" / f"C{cycle}.1"
        cycle_dir.mkdir(parents=True)
        if rng.random() < 0.95:
            (cycle_dir / "s_1_1101.bcl.gz").write_bytes(b"")


# ---- one input -------------------------------------------------------------------------------------------


@dataclass
class Input:
    path: Path  # the file or run folder to validate
    folder: Path  # everything written for this input
    mutations: list[str]


def make_input(seeds: dict[str, list[Seed]], fmt: str, index: int, seed: int, folder: Path) -> Input:
    rng = random.Random(f"{seed}:{fmt}:{index}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    base = rng.choice(seeds[fmt])
    other = rng.choice([s for f in seeds for s in seeds[f] if s.layer == base.layer] or [base])
    data, mutations = base.data, []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        current = Seed(base.name, data, base.layer, base.sidecars)
        if base.layer == "text":
            data, name = (
                mutate_text(rng, data) if rng.random() < 0.8 else (splice(rng, data, other.data), "splice")
            )
        elif base.layer in ("bgzf", "gzip"):
            data, name = mutate_compressed(rng, current, other, fmt)
        elif base.layer == "cram":
            data, name = mutate_cram(rng, current, other)
        else:
            data, name = mutate_run_info(rng, data)
        mutations.append(name)
        if len(data) > MAX_INPUT:
            data = data[:MAX_INPUT]
            break
    files = {base.name: data}
    for suffix, index_bytes in base.sidecars.items():
        roll = rng.random()
        if roll < 0.1:
            index_bytes, _ = rng.choice(((flip_bits(rng, index_bytes), 0), (truncate(rng, index_bytes), 0)))
            mutations.append("index_bytes")
        elif roll < 0.15:
            index_bytes = patch_int(rng, index_bytes, rng.choice((4, 8, 12, 16)), 4)
            mutations.append("index_count")
        elif roll < 0.2:
            continue  # no index
        files[base.name + suffix] = index_bytes
    if base.layer == "run":
        write_run_folder(rng, folder / "run", data)
        return Input(folder / "run", folder, mutations)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return Input(folder / base.name, folder, mutations)


# ---- memory of one input ---------------------------------------------------------------------------------

LIBC = ctypes.CDLL(None)
DEEP_PEAKS: list[int] = []


def measure_deep_children() -> None:
    """Record the peak resident memory of every child the validators wait for (the deep checks run in
    forked children; seqpipe.validators.isolated waits for them with os.waitpid)."""

    def waitpid(pid: int, options: int) -> tuple[int, int]:
        pid, status, usage = os.wait4(pid, options)
        DEEP_PEAKS.append(usage.ru_maxrss * 1024)
        return pid, status

    os.waitpid = waitpid


def start_measuring() -> None:
    """One input's memory is measured from what the worker holds before it: the heap that making it
    (or the last input) freed goes back to the system, and the peak is reset to the resident memory
    of now (Linux: 5 written to clear_refs resets VmHWM). Where the reset is refused, the peak stays
    the worker's highest so far, an upper bound."""
    DEEP_PEAKS.clear()
    LIBC.malloc_trim(0)
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def peak_rss() -> tuple[int, int]:
    """Peak resident memory in bytes since start_measuring(): this process (quick mode and the parent
    side of deep mode run in it), and the largest deep child."""
    with open("/proc/self/status") as status:
        own = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    return own, max(DEEP_PEAKS, default=0)


# ---- checking one input ----------------------------------------------------------------------------------


def cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for (the deep checks)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(path: Path, deep: bool) -> tuple[ValidationResult, float, float]:
    """validate() with its wall-clock and CPU seconds."""
    start, cpu = time.perf_counter(), cpu_seconds()
    result = validate(path, deep=deep)
    return result, time.perf_counter() - start, cpu_seconds() - cpu


def check_input(item: Input) -> tuple[list[dict], dict]:
    """Validate in both modes; (findings, measurements)."""
    findings, measured = [], {}
    for mode, deep in (("quick", False), ("deep", True)):
        try:
            result, seconds, cpu = timed(item.path, deep)
        except BaseException as exc:  # the contract says this never happens: a finding
            findings.append({"kind": "exception", "mode": mode, "message": f"{type(exc).__name__}: {exc}"})
            continue
        measured[mode] = {
            "seconds": seconds,
            "cpu": cpu,
            "valid": result.valid,
            "bytes_read": result.bytes_read,
        }
        if not isinstance(result, ValidationResult):
            findings.append({"kind": "exception", "mode": mode, "message": f"returned {type(result)}"})
            continue
        for issue in result.errors:
            if issue.message.startswith(INCOMPLETE):
                kind = (
                    "htslib_crash" if "crashed with SIG" in issue.message
                    else "memory_budget" if "memory budget" in issue.message
                    else "exception"
                )  # fmt: skip
                findings.append({"kind": kind, "mode": mode, "message": issue.message})
        if seconds > TIME_LIMIT:
            # timed again: on a machine shared with other work a call can wait for a core that long;
            # over the limit twice it is a finding, and a timeout proper if it also used that much CPU
            _, again, cpu_again = timed(item.path, deep)
            if again > TIME_LIMIT:
                kind = "timeout" if min(cpu, cpu_again) > TIME_LIMIT else "slow_on_a_loaded_machine"
                message = f"{seconds:.1f} s and {again:.1f} s wall, {min(cpu, cpu_again):.1f} s CPU"
                findings.append({"kind": kind, "mode": mode, "message": message})
            measured[mode].update(seconds=min(seconds, again), cpu=min(cpu, cpu_again))
        if not deep and result.bytes_read > QUICK_READ_LIMIT:
            findings.append({"kind": "unbounded_read", "mode": mode, "message": f"{result.bytes_read} bytes"})
    return findings, measured


# ---- summaries: per format, mergeable (worker chunks, a run, shards of a campaign) -----------------------

MAXIMA = (("slowest", "seconds"), ("most_cpu", "cpu"), ("max_bytes", "bytes"), ("peak_worker", "bytes"),
          ("peak_deep_child", "bytes"))  # fmt: skip


def new_summary() -> dict:
    return {"formats": {}, "findings": [], "ranges": {}, "seconds": 0.0}


def totals(summary: dict, fmt: str) -> dict:
    empty = {"inputs": 0, "valid": {}, "findings": {}, "mutations": {}}
    return summary["formats"].setdefault(fmt, empty | {key: {unit: 0} for key, unit in MAXIMA})


def count(counts: dict, name: str, n: int = 1) -> None:
    counts[name] = counts.get(name, 0) + n


def add_finding(summary: dict, fmt: str, index: int, finding: dict, mutations: list[str]) -> None:
    summary["findings"].append({"format": fmt, "index": index, "mutations": mutations, **finding})
    count(totals(summary, fmt)["findings"], finding["kind"])


def add_input(
    summary: dict, item: Input, fmt: str, index: int, checked: tuple[list, dict], findings_dir: str
) -> None:
    """One input's measurements (checked: check_input's findings and measurements; peak_rss after it)."""
    found, measured = checked
    own, child = peak_rss()
    mine = totals(summary, fmt)
    mine["inputs"] += 1
    for mutation in item.mutations:
        count(mine["mutations"], mutation)
    candidates = [
        ("peak_worker", {"bytes": own, "index": index}),
        ("peak_deep_child", {"bytes": child, "index": index}),
    ]
    for mode, m in measured.items():
        count(mine["valid"], mode, m["valid"])
        call = {"seconds": m["seconds"], "cpu": m["cpu"], "index": index, "mode": mode}
        candidates += [("slowest", call), ("most_cpu", call)]
        if mode == "quick":
            candidates.append(("max_bytes", {"bytes": m["bytes_read"], "index": index}))
    keep_highest(mine, candidates)
    if max(own, child) > MEMORY_LIMIT:
        found = [*found, {"kind": "rss", "mode": "-", "message": f"peak RSS {max(own, child) // 10**6} MB"}]
    for finding in found:
        add_finding(summary, fmt, index, finding, item.mutations)
    if found and findings_dir:
        save_input(item, Path(findings_dir) / f"{fmt}-{index}", found)


def keep_highest(mine: dict, candidates: list[tuple[str, dict]]) -> None:
    units = dict(MAXIMA)
    for key, candidate in candidates:
        if candidate[units[key]] > mine[key][units[key]]:
            mine[key] = candidate


def merge(total: dict, part: dict) -> None:
    """part's counts added to total's, its maxima kept where higher, its findings and ranges appended."""
    for fmt, theirs in part["formats"].items():
        mine = totals(total, fmt)
        mine["inputs"] += theirs["inputs"]
        for key in ("valid", "findings", "mutations"):
            for name, n in theirs[key].items():
                count(mine[key], name, n)
        keep_highest(mine, [(key, theirs[key]) for key, _ in MAXIMA])
    total["findings"] += part["findings"]
    for fmt, ranges in part["ranges"].items():
        total["ranges"].setdefault(fmt, []).extend(ranges)
    total["seconds"] += part["seconds"]


def save_input(item: Input, folder: Path, found: list[dict]) -> None:
    for path in sorted(p for p in item.folder.rglob("*") if p.is_file() and p.stat().st_size <= SAVE_LIMIT):
        target = folder / path.relative_to(item.folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "finding.json").write_text(
        json.dumps({"mutations": item.mutations, "findings": found}, indent=1)
    )


# ---- workers and the supervisor ---------------------------------------------------------------------------


def worker(
    tasks: mp.Queue, results: mp.Queue, progress, seed: int, seeds_dir: str, findings_dir: str
) -> None:
    os.setsid()  # its own process group: the watchdog kills it with its deep-mode children
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_ADDRESS_SPACE, WORKER_ADDRESS_SPACE))
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # htslib's messages
    seeds = build_seeds(Path(seeds_dir) / f"seeds-{os.getpid()}")
    scratch = Path(seeds_dir) / f"inputs-{os.getpid()}"
    measure_deep_children()
    while (task := tasks.get()) is not None:
        fmt, start, stop = task
        summary = new_summary()
        for index in range(start, stop):
            progress[0], progress[1], progress[2] = FORMATS.index(fmt), index, time.time()
            try:
                item = make_input(seeds, fmt, index, seed, scratch)
            except Exception as exc:  # the mutator's own defect: say so, never count it as a validator's
                add_finding(summary, fmt, index, {"kind": "fuzzer", "mode": "-", "message": repr(exc)}, [])
                continue
            start_measuring()  # after making the input: its making is not the validators' memory
            add_input(summary, item, fmt, index, check_input(item), findings_dir)
        progress[2] = 0.0
        results.put(summary)


def run(args: argparse.Namespace) -> dict:
    # workers live in their own process groups: a terminated run must stop them itself (below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    formats = args.formats.split(",")
    stop = args.start + args.inputs
    context = mp.get_context("fork")
    tasks, results = context.Queue(), context.Queue()
    chunks = [
        (fmt, first, min(first + CHUNK, stop)) for first in range(args.start, stop, CHUNK) for fmt in formats
    ]
    for chunk in chunks:
        tasks.put(chunk)
    scratch = tempfile.mkdtemp(prefix="seqpipe-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    total = new_summary()

    def start_worker() -> tuple:
        progress = context.Array("d", 3, lock=False)
        process = context.Process(
            target=worker, args=(tasks, results, progress, args.seed, scratch, args.findings), daemon=True
        )
        process.start()
        return process, progress

    workers = [start_worker() for _ in range(args.workers)]
    done, started, last_report = 0, time.time(), time.time()
    try:
        while done < len(chunks):
            try:
                merge(total, results.get(timeout=1.0))
                done += 1
            except Exception:  # queue.Empty: look after the workers
                pass
            for n, (process, progress) in enumerate(workers):
                busy_since = progress[2]
                if (busy_since and time.time() - busy_since > HANG_LIMIT) or not process.is_alive():
                    fmt, index = FORMATS[int(progress[0])], int(progress[1])
                    if process.is_alive():
                        os.killpg(process.pid, 9)
                    process.join()
                    message = f"worker busy over {HANG_LIMIT:.0f} s or died"
                    add_finding(total, fmt, index, {"kind": "hang", "mode": "-", "message": message}, [])
                    end = next(c[2] for c in chunks if c[0] == fmt and c[1] <= index < c[2])
                    if index + 1 < end:
                        tasks.put((fmt, index + 1, end))
                        chunks.append((fmt, index + 1, end))
                    done += 1  # the interrupted chunk will not report
                    workers[n] = start_worker()
            if time.time() - last_report > args.report_every:
                last_report = time.time()
                total["seconds"] = round(time.time() - started, 1)
                if args.snapshot:  # what is known so far survives an interrupted run
                    Path(args.snapshot + ".tmp").write_text(json.dumps(total, default=str))
                    os.replace(args.snapshot + ".tmp", args.snapshot)
                inputs = sum(t["inputs"] for t in total["formats"].values())
                line = f"[{total['seconds']:7.0f} s] {inputs} inputs, {len(total['findings'])} findings"
                print(f"{line}, {inputs / total['seconds']:.1f}/s", file=sys.stderr, flush=True)
    finally:
        for _ in workers:
            tasks.put(None)
        for process, _ in workers:
            process.join(5)
            if process.is_alive():
                os.killpg(process.pid, 9)
        shutil.rmtree(scratch, ignore_errors=True)
    total["seconds"] = round(time.time() - started, 1)
    total["ranges"] = {fmt: [[args.start, stop]] for fmt in formats}
    total["seed"], total["workers"] = args.seed, args.workers
    return total


def merge_shards(paths: list[str]) -> dict:
    """The summary of a campaign run in shards (JSON of --json runs, same seed, input ranges apart)."""
    total = new_summary()
    seeds = set()
    for path in paths:
        shard = json.loads(Path(path).read_text())
        seeds.add(shard["seed"])
        merge(total, shard)
    if len(seeds) != 1:
        sys.exit(f"shards of different seeds ({sorted(seeds)}) do not add up to one campaign")
    for fmt, ranges in total["ranges"].items():
        ranges.sort()
        for (_, end), (start, _) in itertools.pairwise(ranges):
            if start < end:
                sys.exit(f"{fmt}: shards overlap at input {start}: an input would count twice")
        joined: list[list[int]] = []
        for start, end in ranges:  # adjacent shards make one range
            if joined and joined[-1][1] == start:
                joined[-1][1] = end
            else:
                joined.append([start, end])
        total["ranges"][fmt] = joined
    total["seed"], total["shards"] = seeds.pop(), len(paths)
    return total


def replay(args: argparse.Namespace) -> dict:
    fmt, index = args.replay.rsplit(":", 1)
    measure_deep_children()
    with tempfile.TemporaryDirectory() as tmp:
        seeds = build_seeds(Path(tmp) / "seeds")
        item = make_input(seeds, fmt, int(index), args.seed, Path(tmp) / "input")
        if args.save:
            save_input(item, Path(args.save), [])
        start_measuring()
        found, measured = check_input(item)
        own, child = peak_rss()
        results = {
            m: [str(i) for i in validate(item.path, deep=m == "deep").issues] for m in ("quick", "deep")
        }
    return {
        "input": args.replay,
        "mutations": item.mutations,
        "findings": found,
        "measured": measured,
        "peak_rss": {"worker": own, "deep_child": child},
        **results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inputs", type=int, default=100_000, help="inputs per format")
    parser.add_argument("--start", type=int, default=0, help="index of the first input (a shard)")
    parser.add_argument(
        "--formats", default=",".join(FORMATS), help=f"comma-separated, of {', '.join(FORMATS)}"
    )
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--findings", default="", help="folder for the inputs of findings")
    parser.add_argument("--report-every", type=float, default=60.0, help="seconds between progress lines")
    parser.add_argument("--snapshot", default="", help="JSON file rewritten with the totals at each report")
    parser.add_argument("--replay", help="FORMAT:INDEX: run one input in this process and print it")
    parser.add_argument("--save", help="with --replay: write the input's files here")
    parser.add_argument("--merge", nargs="+", metavar="SHARD", help="summarise the JSON of shard runs")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()
    summary = replay(args) if args.replay else merge_shards(args.merge) if args.merge else run(args)
    if args.json or args.replay:
        print(json.dumps(summary, indent=1, default=str))
    else:
        print_summary(summary)


def print_summary(summary: dict) -> None:
    inputs = sum(t["inputs"] for t in summary["formats"].values())
    rate = inputs / summary["seconds"] if summary["seconds"] else 0.0
    print(f"seed {summary['seed']}: {inputs} inputs in {summary['seconds']:.0f} s, {rate:.1f} inputs/s")
    print(
        f"{'format':9} {'inputs':>8} {'ranges':>16} {'valid q/d':>13} {'most CPU s':>16} {'wall s':>6} "
        f"{'worker MB':>9} {'deep MB':>8} {'quick bytes':>11}  findings"
    )
    for fmt, t in summary["formats"].items():
        ranges = ",".join(f"{a}-{b - 1}" for a, b in summary["ranges"].get(fmt, []))
        valid = f"{t['valid'].get('quick', 0)}/{t['valid'].get('deep', 0)}"
        cpu = t["most_cpu"]
        most = f"{cpu['cpu']:.2f} ({cpu.get('mode', '-')} {cpu.get('index', '-')})"
        found = ", ".join(f"{kind} {n}" for kind, n in sorted(t["findings"].items())) or "none"
        print(
            f"{fmt:9} {t['inputs']:>8} {ranges:>16} {valid:>13} {most:>16} {t['slowest']['seconds']:>6.2f} "
            f"{t['peak_worker']['bytes'] / 10**6:>9.0f} {t['peak_deep_child']['bytes'] / 10**6:>8.0f} "
            f"{t['max_bytes']['bytes']:>11}  {found}"
        )
    print(f"quick-mode read limit {QUICK_READ_LIMIT} bytes; memory limit {MEMORY_LIMIT // 10**6} MB an input")


if __name__ == "__main__":
    main()
