"""Paired reads per sample: art_illumina per haplotype, PCR duplicates, shuffling, Illumina names, lanes."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from seqpipe.simulate.sequence import derive_seed, rng_for

READ_LENGTH = 150
FRAGMENT_MEAN = 400
FRAGMENT_SD = 100
ART_PROFILE = "HS25"
GZIP_LEVEL = 4
# Reads per tile before the name moves to the next tile; x/y then stay in a plausible range.
READS_PER_TILE = 40_000
INDEX_SEQUENCES = (
    "ATCACGAT",
    "CGATGTTT",
    "TTAGGCAT",
    "TGACCACT",
    "ACAGTGGT",
    "GCCAATGT",
    "CAGATCTG",
    "ACTTGATG",
)

Pair = tuple[bytes, bytes, bytes, bytes]  # seq1, qual1, seq2, qual2


@dataclass(frozen=True)
class UnitFiles:
    sample: str
    unit: str
    fq1: Path
    fq2: Path
    pairs: int


def run_art(haplotype_fasta: Path, prefix: Path, depth: float, seed: int) -> tuple[Path, Path]:
    cmd = [
        "art_illumina", "-ss", ART_PROFILE, "-i", str(haplotype_fasta), "-p", "-l", str(READ_LENGTH),
        "-f", f"{depth:g}", "-m", str(FRAGMENT_MEAN), "-s", str(FRAGMENT_SD), "-rs", str(seed), "-na", "-q",
        "-o", str(prefix),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"art_illumina failed on {haplotype_fasta}: {done.stderr.strip() or done.stdout[-2000:]}"
        )
    return Path(f"{prefix}1.fq"), Path(f"{prefix}2.fq")


def without_gaps(contigs: dict[str, str]) -> dict[str, str]:
    """The sequences ART reads from: ART reads whatever it is given, so each contig is cut around its
    N gaps (runs of 100 N or more) and the pieces (named contig_i) of more than 1 kb are kept."""
    pieces: dict[str, str] = {}
    for name, seq in contigs.items():
        parts = [part.strip("N") for part in seq.replace("N" * 100, "\n").split("\n")]
        pieces |= {f"{name}_{i}": part for i, part in enumerate(parts) if len(part) > 1000}
    return pieces


def read_pairs(fq1: Path, fq2: Path) -> list[Pair]:
    lines1 = fq1.read_bytes().split(b"\n")
    lines2 = fq2.read_bytes().split(b"\n")
    return list(zip(lines1[1::4], lines1[3::4], lines2[1::4], lines2[3::4], strict=True))


def add_duplicates_and_shuffle(pairs: list[Pair], share: float, seed: int, sample: str) -> int:
    """Append exact copies of `share` of the pairs (PCR duplicates), shuffle in place; returns the copies."""
    rng = rng_for(seed, "reads", sample)
    copies = [pairs[i] for i in rng.sample(range(len(pairs)), round(share * len(pairs)))]
    pairs.extend(copies)
    rng.shuffle(pairs)
    return len(copies)


def _read_name(lane: int, index: int) -> bytes:
    tile, within = divmod(index, READS_PER_TILE)
    surface, rest = divmod(tile, 32)
    swath, tile_no = divmod(rest, 16)
    x, y = 1000 + (within % 200) * 97, 1000 + (within // 200) * 89
    return b"SIM:1:FCX:%d:%d%d%02d:%d:%d" % (lane, surface + 1, swath + 1, tile_no + 1, x, y)


def _write_fastq_gz(path: Path, pairs: Sequence[Pair], lane: int, mate: int, barcode: str) -> None:
    seq_i, qual_i = (0, 1) if mate == 1 else (2, 3)
    comment = b" %d:N:0:%s\n" % (mate, barcode.encode())
    chunk = 50_000
    with path.open("wb") as out:
        # gzip -n leaves name and time out of the header, so equal input gives equal bytes. Level 4 is
        # bcl2fastq's default: on FASTQ it is ~5x faster than -6 for ~7 % larger files.
        gz = subprocess.Popen(["gzip", "-n", f"-{GZIP_LEVEL}"], stdin=subprocess.PIPE, stdout=out)
        assert gz.stdin is not None
        for begin in range(0, len(pairs), chunk):
            gz.stdin.write(
                b"".join(
                    b"@" + _read_name(lane, i) + comment + p[seq_i] + b"\n+\n" + p[qual_i] + b"\n"
                    for i, p in enumerate(pairs[begin : begin + chunk], start=begin)
                )
            )
        gz.stdin.close()
        if gz.wait() != 0:
            raise RuntimeError(f"gzip failed writing {path}")


def write_units(
    pairs: list[Pair], sample: str, sample_index: int, units: int, reads_dir: Path, threads: int
) -> list[UnitFiles]:
    """Split the shuffled pairs into `units` lanes and write R1/R2 per lane (gzip runs in parallel)."""
    barcode = INDEX_SEQUENCES[sample_index % len(INDEX_SEQUENCES)]
    bounds = [round(len(pairs) * k / units) for k in range(units + 1)]
    written, jobs = [], []
    for k in range(units):
        lane, unit = k + 1, f"L{k + 1:03d}"
        part = pairs[bounds[k] : bounds[k + 1]]
        fq1 = reads_dir / f"{sample}_{unit}_R1.fastq.gz"
        fq2 = reads_dir / f"{sample}_{unit}_R2.fastq.gz"
        written.append(UnitFiles(sample, unit, fq1, fq2, len(part)))
        jobs += [(fq1, part, lane, 1, barcode), (fq2, part, lane, 2, barcode)]
    with ThreadPoolExecutor(max(1, threads)) as pool:
        for future in [pool.submit(_write_fastq_gz, *job) for job in jobs]:
            future.result()
    return written


def art_seed(seed: int, sample: str, haplotype: int) -> int:
    return derive_seed(seed, "art", sample, haplotype)
