"""A human-like layout: autosomes, chrX with PAR1/PAR2, chrY, an ALT contig, a decoy and an unplaced contig.

Sized in hundreds of kb so the whole pipeline runs on it in minutes. Like the GRCh38 analysis set, chrY's
PARs are N in the reference (PAR reads map to chrX) and the chromosomes carry N gaps. Two samples:
M1, a male (one X, one Y; hemizygous truth on non-PAR X and on Y), and F1, a female who carries the ALT
haplotype on one copy of chr1 (its differences are het variants of her truth in primary coordinates).
Decoy and unplaced contigs are in both samples' genomes, with variants, so reads land there and a
caller would find something if those contigs were called. With `exome_targets`, the same genomes are
sequenced as an exome: reads come only from targets (targets.bed) on the autosomes, chrX (PARs
included) and chrY, each from the copies of it the sample has.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import yaml

from seqpipe.simulate import files
from seqpipe.simulate.intervals import Interval, IntervalIndex
from seqpipe.simulate.reads import (
    add_duplicates_and_shuffle,
    art_seed,
    read_pairs,
    run_art,
    without_gaps,
    write_units,
)
from seqpipe.simulate.run import prepare_outdir
from seqpipe.simulate.sequence import random_dna, rng_for, substitute
from seqpipe.simulate.variants import Variant, haplotype, haplotype_slice, random_indel

AUTOSOMES = {"chr1": 160_000, "chr2": 120_000, "chr3": 100_000}
X_LENGTH, Y_LENGTH = 160_000, 60_000
PAR1_LENGTH, PAR2_LENGTH = 15_000, 8_000
# (contig, 0-based start, end) of N gaps: a "centromere" in chr1 and smaller gaps elsewhere
GAPS: tuple[Interval, ...] = (("chr1", 100_000, 105_000), ("chr2", 60_000, 62_000), ("chrX", 80_000, 83_000))
ALT_NAME, ALT_SOURCE = "chr1_KI270762v1_alt", ("chr1", 20_000, 40_000)
ALT_DIVERGENCE = 0.01
DECOY_NAME, DECOY_LENGTH = "chrUn_JTFH01000001v1_decoy", 12_000
UNPLACED_NAME, UNPLACED_LENGTH = "chrUn_KI270302v1", 15_000
SNV_PER_KB, INDEL_PER_KB, HET_SHARE = 1.0, 0.1, 0.6
SPACING, EDGE = 30, 300
SAMPLES = {"M1": "male", "F1": "female"}
EXOME_TARGET_BP, EXOME_SPACING, EXOME_MIN_PER_CONTIG, EXOME_PADDING = (800, 1500), 1000, 6, 100
SWAPPED = {"male": "female", "female": "male"}


@dataclass(frozen=True)
class HumanLikeParams:
    outdir: Path
    seed: int = 1
    depth: float = 20.0
    duplicate_share: float = 0.02
    exome_targets: int = 0  # more than 0: an exome of about this many targets, not a whole genome
    threads: int = 2

    def recorded(self) -> dict:
        values = asdict(self)
        del values["outdir"], values["threads"]
        return {"layout": "human-like", **values}


def par_regions() -> dict[str, list[Interval]]:
    """PAR1 and PAR2 of chrX and chrY, 0-based half-open."""
    return {
        chrom: [(chrom, 0, PAR1_LENGTH), (chrom, length - PAR2_LENGTH, length)]
        for chrom, length in (("chrX", X_LENGTH), ("chrY", Y_LENGTH))
    }


def strata() -> dict[str, list[Interval]]:
    """Regions the accuracy of each caller is reported on (accuracy --strata)."""
    pars = par_regions()
    lengths = {**AUTOSOMES, "chrX": X_LENGTH, "chrY": Y_LENGTH}
    primary: list[Interval] = []
    for chrom, length in lengths.items():
        start = pars["chrY"][0][2] if chrom == "chrY" else 0
        end = pars["chrY"][1][1] if chrom == "chrY" else length
        for _, gap_start, gap_end in sorted(g for g in GAPS if g[0] == chrom):
            primary.append((chrom, start, gap_start))
            start = gap_end
        primary.append((chrom, start, end))
    return {
        # what the pipeline calls by default (the accuracy floors are on this)
        "primary": primary,
        "not_called": [
            (ALT_NAME, 0, 20_000),
            (DECOY_NAME, 0, DECOY_LENGTH),
            (UNPLACED_NAME, 0, UNPLACED_LENGTH),
        ],
        "par": pars["chrX"],
        "x_non_par": [("chrX", pars["chrX"][0][2], pars["chrX"][1][1])],
        "y_non_par": [("chrY", pars["chrY"][0][2], pars["chrY"][1][1])],
        "alt_region": [ALT_SOURCE],
    }


def _in_any(intervals: list[Interval], chrom: str, pos: int) -> bool:
    return any(c == chrom and s <= pos < e for c, s, e in intervals)


def build_reference(seed: int) -> tuple[dict[str, str], list[Variant]]:
    """The contigs in GRCh38 order, and the ALT contig's differences from its source as variants."""
    rng = rng_for(seed, "human-like", "reference")
    contigs = {name: random_dna(rng, length, rng.uniform(0.38, 0.46)) for name, length in AUTOSOMES.items()}
    contigs["chrX"] = random_dna(rng, X_LENGTH, 0.40)
    # chrY's PARs are masked (as in the GRCh38 analysis set): PAR reads of a male map to chrX only
    y_unique = random_dna(rng, Y_LENGTH - PAR1_LENGTH - PAR2_LENGTH, 0.40)
    contigs["chrY"] = "N" * PAR1_LENGTH + y_unique + "N" * PAR2_LENGTH
    for chrom, start, end in GAPS:
        contigs[chrom] = contigs[chrom][:start] + "N" * (end - start) + contigs[chrom][end:]
    chrom, start, end = ALT_SOURCE
    source = contigs[chrom][start:end]
    # substitutions only, so the .alt alignment is one M run and its differences are plain SNVs
    positions = sorted(rng.sample(range(EDGE, len(source) - EDGE), round(ALT_DIVERGENCE * len(source))))
    alt = list(source)
    differences = []
    for pos in positions:
        alt[pos] = substitute(rng, source[pos])
        differences.append(Variant(chrom, start + pos, source[pos], alt[pos], (start + pos, start + pos + 1)))
    contigs[ALT_NAME] = "".join(alt)
    contigs[DECOY_NAME] = random_dna(rng, DECOY_LENGTH, 0.45)
    contigs[UNPLACED_NAME] = random_dna(rng, UNPLACED_LENGTH, 0.42)
    return contigs, differences


def alt_alignment() -> str:
    """bwa's .alt file: the ALT contig aligned to its primary region, as a SAM record."""
    chrom, start, end = ALT_SOURCE
    return f"{ALT_NAME}\t0\t{chrom}\t{start + 1}\t255\t{end - start}M\t*\t0\t0\t*\t*\n"


def _draw_variants(seed: int, sample: str, contigs: dict[str, str], sex: str) -> list[Variant]:
    """SNVs and small indels on every contig the sample has, away from gaps and the ALT region."""
    rng = rng_for(seed, "human-like", "truth", sample)
    names = [n for n in contigs if n != ALT_NAME and (n != "chrY" or sex == "male")]
    taken = IntervalIndex([ALT_SOURCE, *GAPS])
    variants: list[Variant] = []
    for name in names:
        seq = contigs[name]
        callable_bp = len(seq) - seq.count("N")
        for kind, per_kb in (("snv", SNV_PER_KB), ("indel", INDEL_PER_KB)):
            wanted = round(per_kb * callable_bp / 1000)
            for _ in range(50 * wanted):
                if wanted == 0:
                    break
                pos = rng.randint(EDGE, len(seq) - EDGE)
                if kind == "snv":
                    if seq[pos] == "N":
                        continue
                    v = Variant(name, pos, seq[pos], substitute(rng, seq[pos]), (pos, pos + 1))
                else:
                    v = random_indel(rng, seq, name, pos)
                lo, hi = v.span[0] - SPACING, v.span[1] + SPACING
                if "N" in seq[max(0, lo) : hi] or taken.overlaps(name, lo, hi):
                    continue
                taken.add(name, lo, hi)
                het = rng.random() < HET_SHARE
                variants.append(
                    replace(v, genotype=((0, 1) if rng.random() < 0.5 else (1, 0)) if het else (1, 1))
                )
                wanted -= 1
    return variants


def _hemizygous(variants: list[Variant], sex: str) -> list[Variant]:
    """A male's non-PAR X alleles sit on his X (copy 0), his Y alleles on his Y (copy 1)."""
    if sex != "male":
        return variants
    pars = [iv for ivs in par_regions().values() for iv in ivs]
    out = []
    for v in variants:
        if v.chrom == "chrX" and not _in_any(pars, v.chrom, v.pos):
            v = replace(v, genotype=(1, 0))
        elif v.chrom == "chrY":
            v = replace(v, genotype=(0, 1))
        out.append(v)
    return out


def haplotype_fastas(contigs: dict[str, str], variants: list[Variant], sex: str) -> list[dict[str, str]]:
    """The sample's two haploid genomes (the sequences ART reads from)."""
    primary = [n for n in contigs if n not in (ALT_NAME, "chrX", "chrY")]
    haplotypes: list[dict[str, str]] = [{}, {}]
    for copy in (0, 1):
        for name in [*primary, "chrX"]:
            seq = haplotype(contigs[name], name, variants, copy)
            if name == "chrX" and sex == "male" and copy == 1:
                # the male's second copy of the PARs is on his Y: PAR reads come from both
                pars = par_regions()["chrX"]
                haplotypes[copy].update({f"chrY_par{i + 1}": seq[s:e] for i, (_, s, e) in enumerate(pars)})
                continue
            haplotypes[copy].update(without_gaps({name: seq}))
    if sex == "male":
        haplotypes[1].update(without_gaps({"chrY": haplotype(contigs["chrY"], "chrY", variants, 1)}))
    return haplotypes


def exome_targets(seed: int, contigs: dict[str, str], count: int) -> list[Interval]:
    """About `count` targets over the primary contigs by callable length (at least EXOME_MIN_PER_CONTIG
    on each, so chrY has some), clear of N, the ALT region, the PAR edges and each other."""
    rng = rng_for(seed, "human-like", "exome")
    names = [*AUTOSOMES, "chrX", "chrY"]
    callable_bp = {name: len(contigs[name]) - contigs[name].count("N") for name in names}
    pars = [iv for ivs in par_regions().values() for iv in ivs]
    taken = IntervalIndex([ALT_SOURCE])
    targets: list[Interval] = []
    for name in names:
        seq = contigs[name]
        wanted = max(EXOME_MIN_PER_CONTIG, round(count * callable_bp[name] / sum(callable_bp.values())))
        for _ in range(1000 * wanted):
            if wanted == 0:
                break
            length = rng.randint(*EXOME_TARGET_BP)
            start = rng.randint(EDGE + EXOME_SPACING, len(seq) - EDGE - EXOME_SPACING - length)
            lo, hi = start - EXOME_SPACING, start + length + EXOME_SPACING
            if "N" in seq[lo:hi] or taken.overlaps(name, lo, hi):
                continue
            if _in_any(pars, name, start) != _in_any(pars, name, start + length - 1):
                continue
            taken.add(name, start, start + length)
            targets.append((name, start, start + length))
            wanted -= 1
    return sorted(targets, key=lambda t: (names.index(t[0]), t[1]))


def target_windows(
    contigs: dict[str, str], variants: list[Variant], sex: str, targets: list[Interval]
) -> list[dict[str, str]]:
    """The sample's two copies over the targets each copy has (an exome's reads come only from there):
    a male's second copy is his Y, which has chrX's PARs and chrY's targets."""
    pars = par_regions()["chrX"]
    windows: list[dict[str, str]] = [{}, {}]
    for copy in (0, 1):
        sequences = {name: haplotype(contigs[name], name, variants, copy) for name in {t[0] for t in targets}}
        for chrom, start, end in targets:
            on_y_copy = sex == "male" and copy == 1
            if chrom == "chrY" and not on_y_copy:
                continue
            if chrom == "chrX" and on_y_copy and not _in_any(pars, chrom, start):
                continue
            windows[copy][f"{chrom}_{start}"] = haplotype_slice(
                variants, sequences, copy, (chrom, start, end)
            )
    return windows


def _truth_genotype(v: Variant, sex: str) -> tuple[int, ...]:
    """As a caller should report it: haploid (one allele) on a male's non-PAR X and Y."""
    pars = [iv for ivs in par_regions().values() for iv in ivs]
    if sex == "male" and v.chrom in ("chrX", "chrY") and not _in_any(pars, v.chrom, v.pos):
        return (1,)
    return v.genotype


def simulate_human_like(params: HumanLikeParams) -> dict:
    """Write reference (+ .alt), truth, reads, sheets (and a swapped-sex sheet) and a ready config."""
    outdir = params.outdir.resolve()
    prepare_outdir(outdir, extra=("config.yaml", "samples_swapped.tsv"))
    contigs, alt_differences = build_reference(params.seed)
    fasta = outdir / "reference" / "genome.fa"
    files.write_fasta(fasta, contigs)
    files.run_tool(["samtools", "faidx", str(fasta)], f"samtools faidx {fasta}")
    Path(f"{fasta}.alt").write_text(alt_alignment())
    for name, intervals in strata().items():
        files.write_bed(outdir / "strata" / f"{name}.bed", intervals)
    targets = exome_targets(params.seed, contigs, params.exome_targets) if params.exome_targets else []
    if targets:
        files.write_bed(outdir / "targets.bed", targets)
    truth: dict[str, list[Variant]] = {}
    jobs = []
    with tempfile.TemporaryDirectory(prefix=".art-", dir=outdir) as tmp:
        for sample, sex in SAMPLES.items():
            variants = _hemizygous(_draw_variants(params.seed, sample, contigs, sex), sex)
            if sex == "female":  # F1 carries the ALT haplotype on her second chr1
                variants += [replace(v, genotype=(0, 1)) for v in alt_differences]
            variants.sort(key=lambda v: (list(contigs).index(v.chrom), v.pos))
            truth[sample] = variants
            copies = (
                target_windows(contigs, variants, sex, targets)
                if targets
                else haplotype_fastas(contigs, variants, sex)
            )
            for copy, sequences in enumerate(copies):
                hap_fasta = Path(tmp) / f"{sample}.hap{copy + 1}.fa"
                files.write_fasta(hap_fasta, sequences)
                jobs.append(
                    (
                        hap_fasta,
                        Path(tmp) / f"{sample}.hap{copy + 1}.",
                        params.depth / 2,
                        art_seed(params.seed, sample, copy),
                    )
                )
        with ThreadPoolExecutor(max(1, params.threads)) as pool:
            outputs = [f.result() for f in [pool.submit(run_art, *job) for job in jobs]]
        units = []
        for index, sample in enumerate(SAMPLES):
            pairs = []
            for fq1, fq2 in outputs[2 * index : 2 * index + 2]:
                pairs += read_pairs(fq1, fq2)
            add_duplicates_and_shuffle(pairs, params.duplicate_share, params.seed, sample)
            units += write_units(pairs, sample, index, 1, outdir / "reads", params.threads)
    for sample, variants in truth.items():
        shown = [replace(v, genotype=_truth_genotype(v, SAMPLES[sample])) for v in variants]
        files.write_vcf(outdir / "truth" / f"{sample}.vcf.gz", contigs, shown, sample)
    files.write_known_sites(outdir, params.seed, contigs, truth)
    files.write_sheets(outdir, SAMPLES, "family", units)
    files.write_samples(outdir / "samples_swapped.tsv", {s: SWAPPED[x] for s, x in SAMPLES.items()}, "family")
    pars = {c: [[s + 1, e] for _, s, e in ivs] for c, ivs in par_regions().items()}
    config = {
        "samples": str(outdir / "samples.tsv"),
        "units": str(outdir / "units.tsv"),
        "outdir": "results",
        "reference": {"fasta": str(fasta), "build": "human-like", "par": pars},
    }
    if targets:
        config["targets"] = {"bed": str(outdir / "targets.bed"), "padding": EXOME_PADDING}
    (outdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    summary = {
        "layout": "human-like",
        "contigs": {name: len(seq) for name, seq in contigs.items()},
        "gaps": [list(g) for g in GAPS],
        "par": pars,
        "alt": {"contig": ALT_NAME, "source": list(ALT_SOURCE), "differences": len(alt_differences)},
        "sex": SAMPLES,
        "targets": len(targets),
        "truth": {
            s: {
                "variants": len(vs),
                "het": sum(_truth_genotype(v, SAMPLES[s]) in ((0, 1), (1, 0)) for v in vs),
                "hemizygous": sum(_truth_genotype(v, SAMPLES[s]) == (1,) for v in vs),
            }
            for s, vs in truth.items()
        },
        "units": [{"sample": u.sample, "unit": u.unit, "pairs": u.pairs} for u in units],
    }
    files.write_manifest(outdir, params.recorded(), summary)
    return summary
