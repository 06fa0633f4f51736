"""Split a reference into N chunks of about equal size for scatter-gather calling."""

from __future__ import annotations

from pathlib import Path

Region = tuple[str, int, int]  # contig, 0-based start, end (BED convention)


def read_fai(fai: str | Path) -> list[tuple[str, int]]:
    with Path(fai).open() as fh:
        return [(fields[0], int(fields[1])) for fields in (line.split("\t") for line in fh) if fields[0]]


def split_genome(contigs: list[tuple[str, int]], n: int) -> list[list[Region]]:
    """N chunks in genome order, each ~total/N bases; a contig is cut where a chunk fills up.

    Chunks follow the reference order, so gathering them in order gives a sorted VCF.
    Fewer than N chunks come back only when the genome has fewer than N bases.
    """
    total = sum(length for _, length in contigs)
    size = -(-total // n)  # ceiling: the last chunk is never the odd large one
    chunks: list[list[Region]] = [[]]
    room = size
    for name, length in contigs:
        start = 0
        while start < length:
            if room == 0:
                chunks.append([])
                room = size
            end = min(length, start + room)
            chunks[-1].append((name, start, end))
            room -= end - start
            start = end
    return chunks


def write_chunk_beds(fai: str | Path, beds: list[str | Path]) -> None:
    chunks = split_genome(read_fai(fai), len(beds))
    for i, bed in enumerate(beds):
        regions = chunks[i] if i < len(chunks) else []
        Path(bed).write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in regions))
