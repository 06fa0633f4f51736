"""One call that writes a whole demo data set; see docs/demo-data.md for the layout."""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from seqpipe.simulate import files
from seqpipe.simulate.genome import Genome, build_genome
from seqpipe.simulate.lowmap import low_mappability
from seqpipe.simulate.reads import (
    UnitFiles,
    add_duplicates_and_shuffle,
    art_seed,
    read_pairs,
    run_art,
    without_gaps,
    write_units,
)
from seqpipe.simulate.variants import TruthRates, Variant, draw_truth, haplotypes

GENERATED = (
    "reference",
    "truth",
    "known_sites",
    "reads",
    "strata",
    "samples.tsv",
    "units.tsv",
    "manifest.json",
)
# written by scenarios (seqpipe.simulate.scenarios) on top of the above
GENERATED += ("targets.bed", "primers.bed")


@dataclass(frozen=True)
class SimulationParams:
    outdir: Path
    seed: int = 1
    genome_size: int = 1_000_000
    contigs: int = 3
    samples: tuple[tuple[str, float], ...] = (("S1", 30.0), ("S2", 20.0))
    units_per_sample: int = 2
    duplicate_share: float = 0.04
    lowmap: bool = True
    rates: TruthRates = field(default_factory=TruthRates)
    threads: int = 2

    def recorded(self) -> dict:
        """What determines the bytes written (not where, nor how many threads)."""
        values = asdict(self)
        del values["outdir"], values["threads"]
        values["samples"] = dict(self.samples)
        return values


def prepare_outdir(outdir: Path, extra: tuple[str, ...] = ()) -> None:
    """Refuse a directory holding anything but (part of) an earlier data set, which is replaced.

    `extra`: more names a layout generates (beside GENERATED)."""
    generated = (*GENERATED, *extra)
    if outdir.exists() and not outdir.is_dir():
        raise ValueError(f"--outdir {outdir} exists and is not a directory")
    if outdir.is_dir():
        foreign = sorted(p.name for p in outdir.iterdir() if p.name not in generated)
        if foreign:
            raise ValueError(
                f"--outdir {outdir} is not empty and holds no earlier demo data set "
                f"(found: {', '.join(foreign[:5])}); choose a new or empty directory"
            )
        for name in generated:
            target = outdir / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    for sub in ("reference", "truth", "reads", "strata"):
        (outdir / sub).mkdir(parents=True, exist_ok=True)


def simulate(params: SimulationParams) -> dict:
    """Write reference, strata, truth, reads, sheets and manifest under params.outdir; returns a summary."""
    if params.genome_size < 50_000:
        raise ValueError(f"--genome-size {params.genome_size} is too small (at least 50000 bp)")
    names = [name for name, _ in params.samples]
    if len(set(names)) != len(names):
        raise ValueError(f"--samples lists a sample twice: {', '.join(names)}")
    outdir = params.outdir.resolve()
    prepare_outdir(outdir)

    genome = build_genome(params.seed, params.genome_size, params.contigs)
    fasta = outdir / "reference" / "genome.fa"
    files.write_fasta(fasta, genome.contigs)
    files.run_tool(["samtools", "faidx", str(fasta)], f"samtools faidx {fasta}")

    strata = dict(genome.strata)
    if params.lowmap:
        strata["lowmap"] = low_mappability(genome.contigs, params.threads)
    for name, intervals in strata.items():
        files.write_bed(outdir / "strata" / f"{name}.bed", intervals)

    truth = draw_truth(params.seed, genome, names, params.rates)
    for sample, variants in truth.items():
        files.write_vcf(outdir / "truth" / f"{sample}.vcf.gz", genome.contigs, variants, sample)
    files.write_known_sites(outdir, params.seed, genome.contigs, truth)

    units, duplicates = _simulate_reads(params, genome, truth, outdir)
    files.write_sheets(outdir, dict.fromkeys(names, "unknown"), "demo", units)
    summary = {
        "genome_bp": sum(len(s) for s in genome.contigs.values()),
        "contigs": {name: len(seq) for name, seq in genome.contigs.items()},
        "gaps": [list(gap) for gap in genome.gaps],
        "strata_bp": {name: sum(e - s for _, s, e in iv) for name, iv in strata.items()},
        "truth": {
            s: {
                "snv": sum(v.is_snv for v in vs),
                "indel": sum(not v.is_snv for v in vs),
                "str_indel": sum(v.microsatellite for v in vs),
                "hom_alt": sum(v.genotype == (1, 1) for v in vs),
            }
            for s, vs in truth.items()
        },
        "units": [{"sample": u.sample, "unit": u.unit, "pairs": u.pairs} for u in units],
        "duplicate_pairs": duplicates,
    }
    files.write_manifest(outdir, params.recorded(), summary)
    return summary


def _simulate_reads(
    params: SimulationParams, genome: Genome, truth: dict[str, list[Variant]], outdir: Path
) -> tuple[list[UnitFiles], dict[str, int]]:
    """ART per haplotype at half depth (jobs in parallel), then duplicates, shuffle and lanes per sample."""
    units: list[UnitFiles] = []
    duplicates: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix=".art-", dir=outdir) as tmp:
        jobs = []
        for sample, depth in params.samples:
            for hap, contigs in enumerate(haplotypes(genome, truth[sample])):
                fasta = Path(tmp) / f"{sample}.hap{hap + 1}.fa"
                files.write_fasta(fasta, without_gaps(contigs))
                jobs.append(
                    (
                        fasta,
                        Path(tmp) / f"{sample}.hap{hap + 1}.",
                        depth / 2,
                        art_seed(params.seed, sample, hap),
                    )
                )
        with ThreadPoolExecutor(max(1, params.threads)) as pool:
            outputs = [f.result() for f in [pool.submit(run_art, *job) for job in jobs]]
        for index, (sample, _) in enumerate(params.samples):
            pairs = []
            for fq1, fq2 in outputs[2 * index : 2 * index + 2]:
                pairs += read_pairs(fq1, fq2)
                fq1.unlink()
                fq2.unlink()
            duplicates[sample] = add_duplicates_and_shuffle(
                pairs, params.duplicate_share, params.seed, sample
            )
            units += write_units(
                pairs, sample, index, params.units_per_sample, outdir / "reads", params.threads
            )
    return units, duplicates
