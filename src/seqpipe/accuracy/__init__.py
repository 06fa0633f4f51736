"""Small-variant accuracy of a VCF against a truth VCF: SNV/indel precision, recall, F1, genotype-aware F1.

Both VCFs go through `bcftools norm -f ref -m- -a`; calls without an ALT allele in the sample's GT are
dropped; calls match on (CHROM, POS, REF, ALT), with a local haplotype-equivalence rescue for different
representations of the same change within a few bp. See docs/demo-data.md.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pysam

from seqpipe.accuracy.calls import AccuracyInputError, check_vcf, load_calls, reference_contigs
from seqpipe.accuracy.compare import match
from seqpipe.accuracy.header_repair import repair_header
from seqpipe.accuracy.metrics import TYPES, Scores, read_stratum, stratified

__all__ = ["AccuracyInputError", "Evaluation", "evaluate", "strata_in_dir"]


@dataclass
class Evaluation:
    truth: Path
    query: Path
    reference: Path
    truth_sample: str
    query_sample: str
    min_qual: float | None
    pass_only: bool
    rescued_clusters: int
    metrics: dict[str, dict[str, Scores]] = field(default_factory=dict)
    # Header lines declared for what a VCF used without declaring (see header_repair), one message each.
    repairs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "truth": str(self.truth),
            "query": str(self.query),
            "reference": str(self.reference),
            "truth_sample": self.truth_sample,
            "query_sample": self.query_sample,
            "min_qual": self.min_qual,
            "pass_only": self.pass_only,
            "rescued_clusters": self.rescued_clusters,
            "repairs": self.repairs,
            "metrics": {
                name: {kind: s.as_dict() for kind, s in by_type.items()}
                for name, by_type in self.metrics.items()
            },
        }

    def table(self) -> str:
        def num(x: float | None) -> str:
            return "-" if x is None else f"{x:.4f}"

        filters = [f"QUAL >= {self.min_qual:g}"] if self.min_qual is not None else []
        filters += ["FILTER PASS"] if self.pass_only else []
        lines = [
            f"truth: {self.truth} (sample {self.truth_sample})",
            f"query: {self.query} (sample {self.query_sample}){'; ' + ', '.join(filters) if filters else ''}",
            f"{'stratum':<14}{'type':<7}{'TP':>8}{'FP':>7}{'FN':>7}{'precision':>11}{'recall':>9}{'F1':>9}{'F1_gt':>9}",
        ]
        for name, by_type in self.metrics.items():
            for kind in TYPES:
                s = by_type[kind]
                lines.append(
                    f"{name:<14}{kind:<7}{s.tp:>8}{s.fp:>7}{s.fn:>7}{num(s.precision):>11}{num(s.recall):>9}"
                    f"{num(s.f1):>9}{num(s.f1_gt):>9}"
                )
        return "\n".join(lines)


def strata_in_dir(directory: Path) -> dict[str, Path]:
    """Every *.bed in `directory`, named by file stem (strata/segdup.bed -> segdup)."""
    if not directory.is_dir():
        raise AccuracyInputError(f"strata directory not found: {directory}")
    beds = {p.name.removesuffix(".bed"): p for p in sorted(directory.glob("*.bed"))}
    if not beds:
        raise AccuracyInputError(f"strata directory {directory} holds no *.bed files")
    return beds


def evaluate(
    truth: Path,
    query: Path,
    reference: Path,
    sample: str | None = None,
    strata: dict[str, Path] | None = None,
    min_qual: float | None = None,
    pass_only: bool = False,
) -> Evaluation:
    contigs = reference_contigs(reference)
    indexes = {name: read_stratum(name, bed) for name, bed in (strata or {}).items()}
    if "all" in indexes or "other" in indexes:
        raise AccuracyInputError("strata may not be named 'all' or 'other' (those are reported anyway)")
    paths = {"truth": truth, "query": query}
    with tempfile.TemporaryDirectory(prefix="seqpipe-accuracy-") as workdir:
        repaired = {
            role: repair_header(p, role, contigs, reference, Path(workdir)) for role, p in paths.items()
        }
        samples = {
            role: check_vcf(repaired[role].path, role, sample, reference, contigs, shown=p)
            for role, p in paths.items()
        }
        calls = {
            role: load_calls(repaired[role].path, role, samples[role], reference, shown=p)
            for role, p in paths.items()
        }
    query_calls = [
        c
        for c in calls["query"]
        if (min_qual is None or c.qual is None or c.qual >= min_qual) and (c.passed or not pass_only)
    ]
    with pysam.FastaFile(str(reference)) as fasta:
        matching = match(
            calls["truth"], query_calls, lambda chrom, start, end: fasta.fetch(chrom, start - 1, end).upper()
        )
    return Evaluation(
        truth=truth,
        query=query,
        reference=reference,
        truth_sample=samples["truth"],
        query_sample=samples["query"],
        min_qual=min_qual,
        pass_only=pass_only,
        rescued_clusters=matching.rescued_clusters,
        metrics=stratified(matching, indexes),
        repairs=[message for r in repaired.values() for message in r.repairs],
    )
