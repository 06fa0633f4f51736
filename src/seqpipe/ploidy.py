"""Each caller's ploidy input, from each sample's sex (declared, or inferred when the sheet says unknown).

bcftools call takes a ploidy file (per region and sex) and a samples file (sample → sex); freebayes a
CNV map (per region and sample); GATK's HaplotypeCaller one ploidy per run, so a sample's chunk is
split into the intervals it calls at ploidy 1 and at ploidy 2. A group's files cover every sample of
the group, so joint calling of mixed-sex groups gives each sample its own ploidy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from seqpipe.reference.contigs import read_fai
from seqpipe.reference.regions import intersect, read_bed, subtract, write_bed
from seqpipe.reference.sex_chromosomes import SEXES, SexChromosomes

CODES = {"male": "M", "female": "F", "unknown": "U"}


def calling_sex(declared: str, inferred_json: str | Path | None) -> str:
    """The declared sex, else the inferred one; 'unknown' (diploid everywhere) when neither is clear
    (the inference was ambiguous, or the reference has no X to infer from)."""
    if declared in SEXES or inferred_json is None:
        return declared
    inferred = json.loads(Path(inferred_json).read_text())["inferred"]
    return inferred if inferred in SEXES else "unknown"


def write_caller_ploidy(
    chromosomes: SexChromosomes,
    contigs: str | Path,
    sexes: Mapping[str, str],
    bcftools_ploidy: str | Path,
    bcftools_samples: str | Path,
    freebayes_cnv: str | Path,
) -> None:
    """The files of one calling scope (a sample or a group); `sexes`: sample → sex used for calling.
    `contigs`: the contig lengths (reference/contigs.tsv, or a .fai)."""
    lengths = dict(read_fai(contigs))
    lines = [
        f"{c}\t{s + 1}\t{e}\t{code}\t{ploidy}\n"
        for sex, code in CODES.items()
        for (c, s, e), ploidy in chromosomes.ploidy(sex, lengths)
    ]
    Path(bcftools_ploidy).write_text("".join(lines) + "".join(f"*\t*\t*\t{c}\t2\n" for c in CODES.values()))
    Path(bcftools_samples).write_text("".join(f"{name}\t{CODES[sex]}\n" for name, sex in sexes.items()))
    Path(freebayes_cnv).write_text(
        "".join(
            f"{c}\t{s}\t{e}\t{name}\t{ploidy}\n"
            for name, sex in sexes.items()
            for (c, s, e), ploidy in chromosomes.ploidy(sex, lengths)
        )
    )


def write_gatk_intervals(
    chromosomes: SexChromosomes,
    contigs: str | Path,
    sex: str,
    chunk_beds: Sequence[str | Path],
    haploid_beds: Sequence[str | Path],
    diploid_beds: Sequence[str | Path],
) -> None:
    """Per chunk, the sample's intervals at ploidy 1 and 2 (regions of ploidy 0 in neither).

    A chunk with nothing to call at either ploidy (a female's chrY alone) is called diploid whole:
    GATK cannot run on no interval, and a female has no reads there to call."""
    changes = chromosomes.ploidy(sex, dict(read_fai(contigs)))
    haploid = [region for region, ploidy in changes if ploidy == 1]
    for chunk_bed, haploid_bed, diploid_bed in zip(chunk_beds, haploid_beds, diploid_beds, strict=True):
        chunk = read_bed(chunk_bed)
        ones = intersect(chunk, haploid)
        twos = subtract(chunk, [region for region, _ in changes])
        write_bed(haploid_bed, ones)
        write_bed(diploid_bed, twos if ones or twos else chunk)
