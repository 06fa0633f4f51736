"""After a converter ran for a lane: move its FASTQs to their final names, with md5 and read counts.

Final names appear only once every file of the lane is complete (partial names, then renames), so an
interrupted or failed conversion never leaves a FASTQ that looks finished.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections import Counter
from pathlib import Path

from seqpipe.demux.errors import DemuxError

# The converters' name for the reads of a lane that match no sample. Defined here, not in the plan, so
# that a lane's collection job does not import what planning needs (jsonschema, numpy).
UNDETERMINED = "Undetermined"
TOP_UNKNOWN = 20


def fastq_layout(demultiplexer: str) -> str:
    """How the converter names its FASTQs: Picard's own way, or Illumina's (bcl-convert, bcl2fastq)."""
    return "picard" if demultiplexer == "picard" else "illumina"


def converter_fastq(work: Path, layout: str, sample: str, lane: int, read: int, reads: int) -> Path | None:
    if layout == "picard":
        path = work / "fastq" / (f"{sample}.{read}.fastq.gz" if reads > 1 else f"{sample}.fastq.gz")
        return path if path.is_file() else None
    # bcl-convert and bcl2fastq: <Sample_ID>_S<n>_L00<lane>_R<read>_001.fastq.gz, maybe in project folders.
    found = sorted((work / "out").rglob(f"{sample}_S*_L{lane:03d}_R{read}_001.fastq.gz"))
    return found[0] if found else None


def _sequences(path: Path) -> list[str]:
    with gzip.open(path, "rt") as fh:
        return [line.strip() for number, line in enumerate(fh) if number % 4 == 1]


def unknown_barcodes(work: Path, layout: str, undetermined_r1: Path) -> Counter[str]:
    """Barcodes of the reads that matched no sample, as 'INDEX1+INDEX2'."""
    if layout == "picard":
        # Picard leaves the unmatched reads' barcode out of their names but writes the index reads.
        reads = [work / "fastq" / f"{UNDETERMINED}.barcode_{i}.fastq.gz" for i in (1, 2)]
        columns = [_sequences(p) for p in reads if p.is_file()]
        return Counter("+".join(parts) for parts in zip(*columns, strict=True))
    # bcl-convert and bcl2fastq put them in the Casava 1.8 comment: '1:N:0:ACGT+TTGA'.
    with gzip.open(undetermined_r1, "rb") as fh:
        return Counter(
            line.split()[1].rsplit(b":", 1)[-1].decode()
            for number, line in enumerate(fh)
            if number % 4 == 0 and len(line.split()) > 1
        )


def index_hops(unknown: Counter[str], barcodes: list[tuple[str, str, str]]) -> int | None:
    """Undetermined reads whose i7 is one sample's and i5 another's (both exact): index hopping.

    None for a single-indexed lane, where hops cannot be told from unknown barcodes."""
    if not all(i5 for _sample, _i7, i5 in barcodes):
        return None
    i7s, i5s = {i7 for _s, i7, _i5 in barcodes}, {i5 for _s, _i7, i5 in barcodes}
    pairs = {f"{i7}+{i5}" for _s, i7, i5 in barcodes}
    return sum(
        reads
        for barcode, reads in unknown.items()
        if barcode not in pairs
        and barcode.count("+") == 1
        and barcode.split("+")[0] in i7s
        and barcode.split("+")[1] in i5s
    )


def digest_and_count(path: Path) -> tuple[str, int]:
    md5 = hashlib.md5()
    with path.open("rb") as raw:
        for chunk in iter(lambda: raw.read(1 << 20), b""):
            md5.update(chunk)
    try:
        with gzip.open(path, "rb") as fh:
            records = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) // 4
    except (OSError, EOFError) as exc:
        raise DemuxError(f"{path}: converter output is not a complete gzip FASTQ ({exc})") from None
    return md5.hexdigest(), records


def collect_lane(
    work: Path,
    layout: str,
    lane: int,
    barcodes: list[tuple[str, str, str]],
    fastq_dir: Path,
    stats_dir: Path,
    reads: int,
) -> None:
    """`barcodes`: the lane's (sample, Index1, Index2) as the instrument read them (the plan's)."""
    samples = [sample for sample, _i7, _i5 in barcodes]
    fastq_dir.mkdir(parents=True, exist_ok=True)
    stats_dir.mkdir(parents=True, exist_ok=True)
    renames: list[tuple[Path, Path]] = []
    try:
        counts = _stage_lane(work, layout, lane, samples, fastq_dir, reads, renames)
    except BaseException:
        for partial, _ in renames:
            partial.unlink(missing_ok=True)
        raise
    (stats_dir / "counts.tsv").write_text(
        "sample\tlane\treads\n" + "".join(f"{s}\t{lane}\t{n}\n" for s, n in counts.items())
    )
    unknown = unknown_barcodes(work, layout, fastq_dir / f"{UNDETERMINED}_L{lane:03d}_R1.fastq.gz.partial")
    (stats_dir / "unknown_barcodes.tsv").write_text(
        "lane\tbarcode\treads\n" + "".join(f"{lane}\t{b}\t{n}\n" for b, n in unknown.most_common(TOP_UNKNOWN))
    )
    hops = index_hops(unknown, barcodes)
    assigned = sum(n for sample, n in counts.items() if sample != UNDETERMINED)
    (stats_dir / "index_hopping.tsv").write_text(
        f"lane\tindex_hops\tassigned\n{lane}\t{'NA' if hops is None else hops}\t{assigned}\n"
    )
    if (work / "barcode_metrics.txt").is_file():  # Picard's per-barcode metrics, read by MultiQC
        renames.append((work / "barcode_metrics.txt", stats_dir / "barcode_metrics.txt"))
    for source, target in renames:
        os.replace(source, target)


def _stage_lane(
    work: Path,
    layout: str,
    lane: int,
    samples: list[str],
    fastq_dir: Path,
    reads: int,
    renames: list[tuple[Path, Path]],
) -> dict[str, int]:
    """Every FASTQ of the lane under a .partial name, checked and with its md5; returns reads per sample."""
    counts: dict[str, int] = {}
    for sample in [*samples, UNDETERMINED]:
        for read in range(1, reads + 1):
            final = fastq_dir / f"{sample}_L{lane:03d}_R{read}.fastq.gz"
            partial = final.with_name(final.name + ".partial")
            md5_partial = final.with_name(final.name + ".md5.partial")
            renames += [(partial, final), (md5_partial, final.with_name(final.name + ".md5"))]
            source = converter_fastq(work, layout, sample, lane, read, reads)
            if source is None:
                # Converters skip files of samples without reads; an empty FASTQ keeps the lane's set whole.
                with gzip.open(partial, "wb"):
                    pass
            else:
                os.replace(source, partial)
            digest, records = digest_and_count(partial)
            md5_partial.write_text(f"{digest}  {final.name}\n")
            if read == 1:
                counts[sample] = records
    return counts
