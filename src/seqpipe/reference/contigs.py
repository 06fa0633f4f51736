"""Contigs of a reference: which are called (the primary assembly by default), its ALT contigs and N gaps.

Every contig is aligned to (ALT, decoy, HLA and unplaced contigs draw the reads that belong there);
only the selected ones are called.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from seqpipe.reference.regions import Region

# GRCh38 and GRCh37 (hs37d5) contigs that are not the primary assembly: HLA alleles, unplaced and
# unlocalized scaffolds, EBV, ALT haplotypes, decoys. chrM stays (it is part of the primary assembly).
DEFAULT_EXCLUDE = r"HLA-.*|chrUn_.*|.*_random|.*_alt|.*_decoy|chrEBV|hs37d5|NC_007605|GL\d+\.\d+"
DEFAULT_INCLUDE = ".*"
# N runs shorter than this are sequence (a caller sees no reads there anyway), not gaps to cut at.
MIN_GAP = 100


class ReferenceError(ValueError):
    """The reference or a file beside it cannot be used as given."""


@dataclass(frozen=True)
class ContigSelection:
    include: str = DEFAULT_INCLUDE
    exclude: str = DEFAULT_EXCLUDE

    def called(self, contigs: list[str], alt_contigs: set[str]) -> list[str]:
        """Contigs to call, in reference order: matching `include` fully, not `exclude`, not an ALT."""
        include, exclude = re.compile(self.include), re.compile(self.exclude)
        return [
            c for c in contigs if include.fullmatch(c) and not exclude.fullmatch(c) and c not in alt_contigs
        ]


def read_fai(fai: str | Path) -> list[tuple[str, int]]:
    with Path(fai).open() as fh:
        return [(fields[0], int(fields[1])) for fields in (line.split("\t") for line in fh) if fields[0]]


def write_contig_lengths(fai: str | Path, path: str | Path) -> None:
    """The contigs' names and lengths (the .fai's first columns), for the per-sample ploidy steps: read
    from here they need no reference bundle, which on AWS Batch each host fetches once, into its cache,
    for the jobs whose tools read the reference."""
    Path(path).write_text("".join(f"{name}\t{length}\n" for name, length in read_fai(fai)))


def contig_names(fasta: str | Path) -> list[str]:
    """From the .fai beside the FASTA, else from the FASTA's header lines."""
    fai = Path(f"{fasta}.fai")
    if fai.is_file():
        return [name for name, _ in read_fai(fai)]
    with Path(fasta).open("rb") as fh:
        return [line[1:].split()[0].decode() for line in fh if line.startswith(b">")]


def contig_lengths(fasta: str | Path) -> dict[str, int]:
    """Each contig's length: from the .fai beside the FASTA, else counted in the FASTA."""
    fai = Path(f"{fasta}.fai")
    if fai.is_file():
        return dict(read_fai(fai))
    lengths: dict[str, int] = {}
    name = None
    with Path(fasta).open() as fh:
        for line in fh:
            if line.startswith(">"):
                name = line[1:].split()[0]
                lengths[name] = 0
            elif name is not None:
                lengths[name] += len(line.strip())
    return lengths


def read_alt(alt: str | Path, contigs: list[str]) -> set[str]:
    """The ALT contigs a bwa .alt file names (SAM records: ALT contig, flag, primary contig, ...).

    ReferenceError naming the file and line when a record names a contig the FASTA lacks: bwa would
    silently treat the ALT contig as primary."""
    known = set(contigs)
    alts, problems = set(), []
    for number, line in enumerate(Path(alt).read_text().splitlines(), start=1):
        if not line or line.startswith("@"):
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            problems.append(f"{alt} line {number}: not a SAM record (ALT contig, flag, primary contig, ...)")
            continue
        for what, name in (("ALT contig", fields[0]), ("primary contig", fields[2])):
            if name != "*" and name not in known:
                problems.append(f"{alt} line {number}: {what} '{name}' is not in the reference FASTA")
        alts.add(fields[0])
    if problems:
        raise ReferenceError("\n".join(["the ALT file does not match the reference:", *problems]))
    return alts


def _fasta_records(fasta: str | Path) -> Iterator[tuple[str, bytes]]:
    name, lines = None, []
    with Path(fasta).open("rb") as fh:
        for line in fh:
            if line.startswith(b">"):
                if name is not None:
                    yield name, b"".join(lines)
                name, lines = line[1:].split()[0].decode(), []
            else:
                lines.append(line.rstrip())
    if name is not None:
        yield name, b"".join(lines)


def callable_regions(fasta: str | Path, contigs: list[str], min_gap: int = MIN_GAP) -> list[Region]:
    """The stretches of `contigs` between N gaps of at least `min_gap` bases, in reference order."""
    wanted, regions = set(contigs), []
    gap = re.compile(rb"[Nn]{%d,}" % min_gap)
    for name, seq in _fasta_records(fasta):
        if name not in wanted:
            continue
        start = 0
        for match in gap.finditer(seq):
            if match.start() > start:
                regions.append((name, start, match.start()))
            start = match.end()
        if start < len(seq):
            regions.append((name, start, len(seq)))
    return regions
