"""Reference checks that run when the workflow is parsed, before any job: a wrong .alt file or PARs a
male sample would need fail here, with what to change."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from seqpipe.reference.contigs import contig_names, read_alt
from seqpipe.reference.sex_chromosomes import SexChromosomes, check_pars_known


def check_reference(fasta: str | Path, chromosomes: SexChromosomes, sexes: Mapping[str, str]) -> None:
    """ReferenceError when the .alt beside `fasta` names contigs it lacks, or when a sample may be male
    on a reference with an X whose PARs are unknown."""
    names = contig_names(fasta)
    alt = Path(f"{fasta}.alt")
    if alt.is_file():
        read_alt(alt, names)
    check_pars_known(chromosomes, names, sexes)
