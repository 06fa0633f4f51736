"""The synthetic reference: a GC-varying random backbone with engineered difficulty pasted in.

Like a real assembly it has N gaps (about one per GAP_SPACING bases of each contig), which no feature,
segmental duplication source or truth variant touches and from which no read comes: the pipeline's
scatter chunks are cut at them. Features are written over free stretches of the backbone (lengths stay
fixed, so coordinates are known exactly) in this order: GC-extreme blocks, interspersed repeats
(SINE/LINE-like families), microsatellites, and finally segmental duplications (their target stretches
are reserved first, while free space is still long), whose copies carry the features of their source.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from seqpipe.simulate.intervals import Interval, IntervalIndex, merge
from seqpipe.simulate.sequence import diverge, random_dna, reverse_complement, rng_for

# Densities per Mb follow the benchmark genome described in docs/demo-data.md (a 5.5 Mb design).
GC_BLOCKS_PER_MB = 3.6
SINE_COPIES_PER_MB = 117
LINE_COPIES_PER_MB = 5.4
STR_PER_MB = 470
SEGDUP_GENOME_SHARE = 0.08
CONTIG_SHARES = (0.5, 0.3, 0.2)
EDGE_MARGIN = 500
FEATURE_GAP = 50
GAP_SPACING = 50_000
GAP_BP = (500, 3000)


@dataclass(frozen=True)
class Microsatellite:
    chrom: str
    start: int
    end: int
    unit: str


@dataclass
class Genome:
    contigs: dict[str, str]
    strata: dict[str, list[Interval]] = field(default_factory=dict)
    microsatellites: list[Microsatellite] = field(default_factory=list)
    gaps: list[Interval] = field(default_factory=list)  # the N stretches, in reference order


@dataclass
class _Builder:
    rng: random.Random
    contigs: dict[str, bytearray]
    occupied: IntervalIndex = field(default_factory=IntervalIndex)
    features: dict[str, list[Interval]] = field(default_factory=dict)

    def free_slot(self, length: int) -> tuple[str, int] | None:
        names = list(self.contigs)
        weights = [len(self.contigs[n]) for n in names]
        for _ in range(1000):
            chrom = self.rng.choices(names, weights=weights)[0]
            hi = len(self.contigs[chrom]) - EDGE_MARGIN - length
            if hi <= EDGE_MARGIN:
                continue
            start = self.rng.randint(EDGE_MARGIN, hi)
            if not self.occupied.overlaps(chrom, start - FEATURE_GAP, start + length + FEATURE_GAP):
                return chrom, start
        return None

    def paste(self, kind: str, seq: str) -> Interval | None:
        slot = self.free_slot(len(seq))
        if slot is None:
            return None
        chrom, start = slot
        self.contigs[chrom][start : start + len(seq)] = seq.encode()
        self.occupied.add(chrom, start, start + len(seq))
        interval = (chrom, start, start + len(seq))
        self.features.setdefault(kind, []).append(interval)
        return interval


def _contig_lengths(genome_size: int, n_contigs: int) -> list[int]:
    shares = CONTIG_SHARES if n_contigs == len(CONTIG_SHARES) else [1 / n_contigs] * n_contigs
    lengths = [int(genome_size * s) for s in shares]
    lengths[0] += genome_size - sum(lengths)
    return lengths


def _backbone(rng: random.Random, length: int) -> bytearray:
    """Isochore-like domains of 20–200 kb, each with its own GC content."""
    parts: list[str] = []
    remaining = length
    while remaining > 0:
        size = min(remaining, rng.randint(20_000, 200_000))
        parts.append(random_dna(rng, size, rng.uniform(0.36, 0.56)))
        remaining -= size
    return bytearray("".join(parts).encode())


def _gaps(seed: int, lengths: dict[str, int]) -> list[Interval]:
    """About one gap per GAP_SPACING bases of each contig (at least one), spread along it with some
    jitter, so the callable stretches between them are of unequal lengths, as in an assembly."""
    rng = rng_for(seed, "gaps")
    gaps: list[Interval] = []
    for name, length in lengths.items():
        count = max(1, round(length / GAP_SPACING))
        spacing = length / (count + 1)
        for k in range(1, count + 1):
            size = min(rng.randint(*GAP_BP), int(spacing / 4))
            start = int(k * spacing + rng.uniform(-0.25, 0.25) * spacing - size / 2)
            gaps.append((name, start, start + size))
    return gaps


def _count(per_mb: float, genome_size: int) -> int:
    return max(1, round(per_mb * genome_size / 1e6))


def _add_gc_blocks(b: _Builder, genome_size: int) -> None:
    for _ in range(_count(GC_BLOCKS_PER_MB, genome_size)):
        b.paste("gc_extreme", random_dna(b.rng, b.rng.randint(1000, 5000), b.rng.choice((0.25, 0.70))))


def _add_interspersed(b: _Builder, genome_size: int) -> None:
    # Two SINE families (a young, little-diverged one and an old one) and one LINE family.
    sine_families = [
        (random_dna(b.rng, b.rng.randint(280, 310), 0.56), lo, hi) for lo, hi in ((0.02, 0.06), (0.06, 0.15))
    ]
    line_consensus = random_dna(b.rng, 6000, 0.40)
    for _ in range(_count(SINE_COPIES_PER_MB, genome_size)):
        consensus, lo, hi = b.rng.choice(sine_families)
        copy = diverge(b.rng, consensus, b.rng.uniform(lo, hi)) + "A" * b.rng.randint(10, 30)
        b.paste("interspersed", copy if b.rng.random() < 0.5 else reverse_complement(copy))
    for _ in range(_count(LINE_COPIES_PER_MB, genome_size)):
        # LINE copies are mostly 5'-truncated: keep the 3' end.
        length = min(len(line_consensus), int(b.rng.paretovariate(0.8) * 500))
        copy = diverge(b.rng, line_consensus[-length:], b.rng.uniform(0.05, 0.20)) + "A" * b.rng.randint(
            10, 30
        )
        b.paste("interspersed", copy if b.rng.random() < 0.5 else reverse_complement(copy))


def _primitive_unit(rng: random.Random, size: int) -> str:
    """A repeat unit that is not itself a repeat of a shorter unit (no 'ATAT' as a 4-mer)."""
    while True:
        unit = random_dna(rng, size, 0.5)
        if not any(size % k == 0 and unit == unit[:k] * (size // k) for k in range(1, size)):
            return unit


def _add_microsatellites(b: _Builder, genome_size: int) -> list[Microsatellite]:
    tracts: list[Microsatellite] = []
    for _ in range(_count(STR_PER_MB, genome_size)):
        if b.rng.random() < 0.4:
            unit, length = b.rng.choice("ACGT"), b.rng.randint(8, 25)
        else:
            unit = _primitive_unit(b.rng, b.rng.randint(2, 6))
            length = b.rng.randint(max(12, 3 * len(unit)), 60) // len(unit) * len(unit)
        placed = b.paste("str", unit * (length // len(unit)))
        if placed:
            tracts.append(Microsatellite(*placed, unit=unit))
    return tracts


def _reserve_segdup_targets(b: _Builder, genome_size: int) -> list[Interval]:
    """Free stretches for the copies, taken before smaller features fragment the free space."""
    max_len = int(min(25_000, max(1_500, genome_size / 220)))
    pairs = max(2, round(SEGDUP_GENOME_SHARE * genome_size / (max_len + 1000)))
    targets = []
    for _ in range(pairs):
        length = b.rng.randint(1000, max_len)
        slot = b.free_slot(length)
        if slot is not None:
            b.occupied.add(slot[0], slot[1], slot[1] + length)
            targets.append((slot[0], slot[1], slot[1] + length))
    return targets


def _copy_segdups(b: _Builder, targets: list[Interval], gaps: list[Interval]) -> None:
    names = list(b.contigs)
    weights = [len(s) for s in b.contigs.values()]
    taken = IntervalIndex([*targets, *gaps])
    for dest_chrom, dest_start, dest_end in targets:
        length = dest_end - dest_start
        for _ in range(1000):
            chrom = b.rng.choices(names, weights=weights)[0]
            hi = len(b.contigs[chrom]) - EDGE_MARGIN - length
            src = b.rng.randint(EDGE_MARGIN, hi) if hi > EDGE_MARGIN else -1
            if src >= 0 and not taken.overlaps(chrom, src - FEATURE_GAP, src + length + FEATURE_GAP):
                break
        else:
            continue
        taken.add(chrom, src, src + length)
        # Log-uniform 0.2–5 %: the near-identical pairs are the ones that defeat mapping.
        rate = 0.002 * (25 ** b.rng.random())
        reverse = b.rng.random() < 0.5
        copy = diverge(b.rng, b.contigs[chrom][src : src + length].decode(), rate, indel_share=0.05)
        # Indels change the copy's length a little: trim or pad it to the reserved stretch.
        copy = (reverse_complement(copy) if reverse else copy)[:length].ljust(length, "A")
        b.contigs[dest_chrom][dest_start:dest_end] = copy.encode()
        b.features.setdefault("segdup", []).extend(
            [(chrom, src, src + length), (dest_chrom, dest_start, dest_end)]
        )
        _copy_features(b, (chrom, src, src + length), (dest_chrom, dest_start, dest_end), reverse)


def _copy_features(b: _Builder, source: Interval, dest: Interval, reverse: bool) -> None:
    """The copy carries its source's repeats and microsatellites (coordinates approximate after indels)."""
    chrom, src_start, src_end = source
    _, dst_start, dst_end = dest
    for kind in ("interspersed", "str", "gc_extreme"):
        for c, s, e in list(b.features.get(kind, [])):
            if c != chrom or e <= src_start or s >= src_end:
                continue
            s, e = max(s, src_start) - src_start, min(e, src_end) - src_start
            if reverse:
                s, e = (src_end - src_start) - e, (src_end - src_start) - s
            b.features[kind].append((dest[0], min(dst_start + s, dst_end), min(dst_start + e, dst_end)))


def _natural_microsatellites(contigs: dict[str, str]) -> list[Interval]:
    """Homopolymers ≥ 7 bp and 2–6 bp unit tracts ≥ 12 bp that arise anywhere, not only where pasted."""
    patterns = [re.compile(r"([ACGT])\1{6,}")]
    patterns += [re.compile(rf"([ACGT]{{{k}}})\1{{{-(-12 // k) - 1},}}") for k in range(2, 7)]
    found: list[Interval] = []
    for chrom, seq in contigs.items():
        for pattern in patterns:
            found.extend((chrom, m.start(), m.end()) for m in pattern.finditer(seq))
    return found


def build_genome(seed: int, genome_size: int, n_contigs: int = 3) -> Genome:
    rng = rng_for(seed, "genome")
    names = [f"chr{i + 1}" for i in range(n_contigs)]
    contigs = {
        n: _backbone(rng, length)
        for n, length in zip(names, _contig_lengths(genome_size, n_contigs), strict=True)
    }
    b = _Builder(rng=rng, contigs=contigs)
    gaps = _gaps(seed, {name: len(seq) for name, seq in contigs.items()})
    for chrom, start, end in gaps:
        b.occupied.add(chrom, start, end)
    targets = _reserve_segdup_targets(b, genome_size)
    _add_gc_blocks(b, genome_size)
    _add_interspersed(b, genome_size)
    tracts = _add_microsatellites(b, genome_size)
    _copy_segdups(b, targets, gaps)
    for chrom, start, end in gaps:
        contigs[chrom][start:end] = b"N" * (end - start)
    sequences = {n: s.decode() for n, s in contigs.items()}
    strata = {kind: merge(b.features.get(kind, [])) for kind in ("segdup", "interspersed", "gc_extreme")}
    strata["str"] = merge(b.features.get("str", []) + _natural_microsatellites(sequences))
    return Genome(contigs=sequences, strata=strata, microsatellites=tracts, gaps=gaps)
