"""Scenarios over the demo data set, for identity, contamination and targeted-sequencing QC.

Each starts from `simulate` (reference, truth, whole-genome reads) and reshapes the reads:
* contamination: samples X0, X2, X5, X10 carry 0, 2, 5 and 10 % of donor D's read pairs in place of
  their own (D is in the run, as the neighbour of a batch whose DNA leaked);
* identity: P1 sequenced twice (P1 and P1b, the reads of one library split in two: a duplicate, or
  a swap that put P1's DNA in P1b's tube) beside unrelated P2 and P3;
* exome: reads only over target intervals (plus a thin whole-genome background, as capture leaves),
  with targets.bed and the expected on-target rate and target depth in the manifest;
* amplicon: tiled amplicons read end to end from their primers (every read starts at a primer),
  with primers.bed (strand column) and targets.bed (the inserts between the primers).
The truth of each scenario is in manifest.json under "scenario".
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from seqpipe.simulate import files
from seqpipe.simulate.genome import build_genome
from seqpipe.simulate.reads import READ_LENGTH, Pair, read_pairs, run_art, write_units
from seqpipe.simulate.run import SimulationParams, simulate
from seqpipe.simulate.sequence import derive_seed, reverse_complement, rng_for, substitute
from seqpipe.simulate.variants import Variant, draw_truth, haplotype_slice, haplotypes

SCENARIOS = ("contamination", "identity", "exome", "amplicon")
CONTAMINATION = {"X0": 0.0, "X2": 0.02, "X5": 0.05, "X10": 0.10}
DONOR = "D"
EXOME_TARGETS = 40
EXOME_TARGET_BP = (800, 1500)
EXOME_BACKGROUND_DEPTH = 2.0
AMPLICONS = 30
# read pairs of 2 x 150 cover the whole amplicon, as ARTIC's 400 bp amplicons under 2 x 250 reads
AMPLICON_BP = 280
PRIMER_BP = 22
AMPLICON_ERROR_RATE = 0.002


def simulate_scenario(name: str, params: SimulationParams) -> dict:
    """Write scenario `name` under params.outdir (its samples replace params.samples); returns its truth."""
    make = {
        "contamination": _contamination,
        "identity": _identity,
        "exome": _exome,
        "amplicon": _amplicon,
    }.get(name)
    if make is None:
        raise ValueError(f"unknown scenario '{name}' (one of {', '.join(SCENARIOS)})")
    return make(params)


def _unit_pairs(outdir: Path, sample: str) -> list[Pair]:
    """All read pairs of a sample's units, in file order."""
    pairs: list[Pair] = []
    for fq1 in sorted((outdir / "reads").glob(f"{sample}_L*_R1.fastq.gz")):
        lines1 = gzip.decompress(fq1.read_bytes()).split(b"\n")
        lines2 = gzip.decompress(fq1.with_name(fq1.name.replace("_R1.", "_R2.")).read_bytes()).split(b"\n")
        pairs += zip(lines1[1::4], lines1[3::4], lines2[1::4], lines2[3::4], strict=True)
        fq1.unlink()
        fq1.with_name(fq1.name.replace("_R1.", "_R2.")).unlink()
    return pairs


def _rewrite_sheets(
    outdir: Path, params: SimulationParams, reads: dict[str, list[Pair]], truth: dict
) -> dict:
    """Units of the reshaped samples, both sheets and the manifest with the scenario's truth."""
    units = []
    for index, (sample, pairs) in enumerate(reads.items()):
        units += write_units(pairs, sample, index, 1, outdir / "reads", params.threads)
    files.write_sheets(outdir, dict.fromkeys(reads, "unknown"), "demo", units)
    summary = {"scenario": truth, "units": [{"sample": u.sample, "pairs": u.pairs} for u in units]}
    files.write_manifest(outdir, params.recorded(), summary)
    return truth


def _contamination(params: SimulationParams) -> dict:
    depth = params.samples[0][1]
    simulate(replace(params, samples=tuple((s, depth) for s in [*CONTAMINATION, DONOR]), units_per_sample=1))
    outdir = params.outdir.resolve()
    donor = _unit_pairs(outdir, DONOR)
    reads = {}
    for sample, share in CONTAMINATION.items():
        own = _unit_pairs(outdir, sample)
        rng = rng_for(params.seed, "contamination", sample)
        foreign = round(share * len(own))
        mixed = rng.sample(own, len(own) - foreign) + rng.sample(donor, foreign)
        rng.shuffle(mixed)
        reads[sample] = mixed
    reads[DONOR] = donor
    return _rewrite_sheets(outdir, params, reads, {"contamination": CONTAMINATION, "donor": DONOR})


def _identity(params: SimulationParams) -> dict:
    depth = params.samples[0][1]
    simulate(replace(params, samples=(("P1", 2 * depth), ("P2", depth), ("P3", depth)), units_per_sample=1))
    outdir = params.outdir.resolve()
    p1 = _unit_pairs(outdir, "P1")
    reads = {"P1": p1[0::2], "P1b": p1[1::2]} | {s: _unit_pairs(outdir, s) for s in ("P2", "P3")}
    shutil.copy(outdir / "truth" / "P1.vcf.gz", outdir / "truth" / "P1b.vcf.gz")
    shutil.copy(outdir / "truth" / "P1.vcf.gz.tbi", outdir / "truth" / "P1b.vcf.gz.tbi")
    return _rewrite_sheets(outdir, params, reads, {"same_person": [["P1", "P1b"]], "unrelated": ["P2", "P3"]})


def _regions(params: SimulationParams, count: int, lengths: tuple[int, int], gap: int, label: str) -> list:
    """`count` non-overlapping regions of the reference, in order, at least `gap` apart and clear of
    N gaps and segmental duplications (panels and exome designs leave out what cannot be mapped
    uniquely)."""
    genome = build_genome(params.seed, params.genome_size, params.contigs)
    rng = rng_for(params.seed, label)
    chosen: list[tuple[str, int, int]] = []
    names = list(genome.contigs)
    avoided = genome.strata.get("segdup", []) + genome.gaps
    for _ in range(1000 * count):
        if len(chosen) == count:
            break
        chrom = rng.choices(names, weights=[len(genome.contigs[n]) for n in names])[0]
        length = rng.randint(*lengths)
        start = rng.randint(1000, len(genome.contigs[chrom]) - length - 1000)
        taken = chosen + [(c, s - gap, e + gap) for c, s, e in avoided]
        if all(c != chrom or start >= e + gap or start + length + gap <= s for c, s, e in taken):
            chosen.append((chrom, start, start + length))
    order = {n: i for i, n in enumerate(names)}
    return sorted(chosen, key=lambda r: (order[r[0]], r[1]))


def _sample_haplotypes(params: SimulationParams) -> dict[str, tuple[list[Variant], tuple[dict, dict]]]:
    """Truth and haplotype sequences of every sample, drawn again exactly as simulate drew them."""
    genome = build_genome(params.seed, params.genome_size, params.contigs)
    truth = draw_truth(params.seed, genome, [s for s, _ in params.samples], params.rates)
    return {sample: (variants, haplotypes(genome, variants)) for sample, variants in truth.items()}


def _exome(params: SimulationParams) -> dict:
    targets = _regions(params, EXOME_TARGETS, EXOME_TARGET_BP, 1000, "exome")
    target_depth = params.samples[0][1]
    background = replace(params, samples=tuple((s, EXOME_BACKGROUND_DEPTH) for s, _ in params.samples))
    simulate(replace(background, units_per_sample=1))
    outdir = params.outdir.resolve()
    files.write_bed(outdir / "targets.bed", targets)
    reads = {}
    with tempfile.TemporaryDirectory(prefix=".art-", dir=outdir) as tmp:
        for sample, (variants, haps) in _sample_haplotypes(params).items():
            pairs = _unit_pairs(outdir, sample)
            background_pairs = len(pairs)
            for hap, contigs in enumerate(haps):
                windows = {f"{r[0]}_{r[1]}": haplotype_slice(variants, contigs, hap, r) for r in targets}
                fasta = Path(tmp) / f"{sample}.{hap}.fa"
                files.write_fasta(fasta, windows)
                seed = derive_seed(params.seed, "exome", sample, hap)
                fq1, fq2 = run_art(fasta, Path(tmp) / f"{sample}.{hap}.", target_depth / 2, seed)
                pairs += read_pairs(fq1, fq2)
            rng_for(params.seed, "exome-shuffle", sample).shuffle(pairs)
            reads[sample] = (pairs, background_pairs)
    # background reads come from the sequence between the N gaps
    genome_bp = sum(
        len(seq) - seq.count("N")
        for seq in build_genome(params.seed, params.genome_size, params.contigs).contigs.values()
    )
    truth = {
        "targets_bp": sum(e - s for _, s, e in targets),
        "target_depth": target_depth,
        "background_depth": EXOME_BACKGROUND_DEPTH,
        "pairs": {s: {"target": len(p) - b, "background": b} for s, (p, b) in reads.items()},
        "genome_bp": genome_bp,
    }
    return _rewrite_sheets(outdir, params, {s: p for s, (p, _) in reads.items()}, {"exome": truth})


def _amplicon_pair(rng, amplicon: str, error_rate: float) -> Pair:
    """Both ends of one amplicon molecule, each read from its primer inward, with substitution errors."""

    def read(seq: str) -> bytes:
        bases = [substitute(rng, b) if rng.random() < error_rate else b for b in seq[:READ_LENGTH]]
        return "".join(bases).encode()

    quality = b"F" * READ_LENGTH
    return read(amplicon), quality, read(reverse_complement(amplicon)), quality


def _amplicon(params: SimulationParams) -> dict:
    amplicons = _regions(params, AMPLICONS, (AMPLICON_BP, AMPLICON_BP), 100, "amplicon")
    simulate(replace(params, units_per_sample=1, duplicate_share=0.0))
    outdir = params.outdir.resolve()
    primers = []
    for number, (chrom, start, end) in enumerate(amplicons, start=1):
        primers.append((chrom, start, start + PRIMER_BP, f"amp_{number}_LEFT", 1 + number % 2, "+"))
        primers.append((chrom, end - PRIMER_BP, end, f"amp_{number}_RIGHT", 1 + number % 2, "-"))
    (outdir / "primers.bed").write_text("".join("\t".join(map(str, p)) + "\n" for p in primers))
    # the targets are the inserts: what is left of an amplicon once its primers are clipped
    files.write_bed(outdir / "targets.bed", [(c, s + PRIMER_BP, e - PRIMER_BP) for c, s, e in amplicons])
    reads = {}
    for sample, (variants, haps) in _sample_haplotypes(params).items():
        _unit_pairs(outdir, sample)  # the whole-genome reads are replaced
        rng = rng_for(params.seed, "amplicon", sample)
        copies = round(params.samples[0][1] * AMPLICON_BP / (2 * READ_LENGTH))
        pairs = []
        for chrom, start, end in amplicons:
            for hap, contigs in enumerate(haps):
                seq = haplotype_slice(variants, contigs, hap, (chrom, start, end))
                pairs += [_amplicon_pair(rng, seq, AMPLICON_ERROR_RATE) for _ in range(copies // 2)]
        rng.shuffle(pairs)
        reads[sample] = pairs
    truth = {"amplicons": len(amplicons), "amplicon_bp": AMPLICON_BP, "pairs_per_amplicon": 2 * (copies // 2)}
    return _rewrite_sheets(outdir, params, reads, {"amplicon": truth})
