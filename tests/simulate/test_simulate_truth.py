"""The truth VCFs are valid, sit on the reference and have the intended mix of variants."""

from __future__ import annotations

import itertools
import subprocess
from collections import Counter

import pysam
import pytest

from seqpipe.simulate.genome import build_genome
from seqpipe.simulate.variants import TruthRates, draw_truth

SAMPLES = ("S1", "S2")


def _records(path):
    with pysam.VariantFile(str(path)) as vcf:
        return list(vcf)


@pytest.mark.parametrize("sample", SAMPLES)
def test_truth_vcf_is_valid_and_its_ref_alleles_match_the_reference(small_demo, sample):
    vcf_path = small_demo / "truth" / f"{sample}.vcf.gz"
    assert (small_demo / "truth" / f"{sample}.vcf.gz.tbi").is_file()
    fasta = pysam.FastaFile(str(small_demo / "reference" / "genome.fa"))
    with pysam.VariantFile(str(vcf_path)) as vcf:
        assert list(vcf.header.samples) == [sample]
        assert {c: vcf.header.contigs[c].length for c in vcf.header.contigs} == dict(
            zip(fasta.references, fasta.lengths, strict=True)
        )
        records = list(vcf)
    assert records
    for rec in records:
        assert fasta.fetch(rec.chrom, rec.start, rec.stop) == rec.ref
        assert rec.samples[sample].phased and len(rec.samples[sample]["GT"]) == 2
        assert 1 in rec.samples[sample]["GT"]
    # Already left-aligned and split: bcftools norm changes nothing.
    norm = subprocess.run(
        [
            "bcftools",
            "norm",
            "-f",
            str(small_demo / "reference" / "genome.fa"),
            "-Ov",
            "-o",
            "/dev/null",
            str(vcf_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"{len(records)}/0/0/0" in norm.stderr


def test_truth_has_snvs_with_ts_tv_near_two_and_short_indels_both_ways():
    # A 1 Mb genome gives enough variants for the proportions (no reads are simulated here).
    genome = build_genome(3, 1_000_000)
    variants = draw_truth(3, genome, ["S1"], TruthRates())["S1"]
    snvs = [v for v in variants if v.is_snv]
    indels = [v for v in variants if not v.is_snv]
    assert (len(snvs), len(indels)) == (900, 144)
    transitions = sum({v.ref, v.alt} in ({"A", "G"}, {"C", "T"}) for v in snvs)
    assert 1.7 <= transitions / (len(snvs) - transitions) <= 2.3
    lengths = [len(v.alt) - len(v.ref) for v in indels]
    assert all(1 <= abs(n) <= 20 for n in lengths)
    assert 0.4 <= sum(n > 0 for n in lengths) / len(lengths) <= 0.6
    plain = Counter(abs(len(v.alt) - len(v.ref)) for v in indels if not v.microsatellite)
    assert plain[1] > plain[2] > plain[4]  # length falls off like L^-1.8
    assert sum(v.microsatellite for v in indels) == round(0.45 * 144)
    hom = sum(v.genotype == (1, 1) for v in variants)
    assert 0.33 <= hom / len(variants) <= 0.45


def _periodic(seq: str, period: int) -> bool:
    return all(seq[i] == seq[i - period] for i in range(period, len(seq)))


def test_microsatellite_indels_change_whole_units(small_demo):
    fasta = pysam.FastaFile(str(small_demo / "reference" / "genome.fa"))
    flagged = [r for r in _records(small_demo / "truth" / "S1.vcf.gz") if "STR" in r.info]
    assert flagged
    for rec in flagged:
        inserted = len(rec.alts[0]) > len(rec.ref)
        change = rec.alts[0][1:] if inserted else rec.ref[1:]
        after = fasta.fetch(rec.chrom, rec.pos, rec.pos + len(change) + 12)
        # The changed bases continue the tract with its own period, for at least two more units.
        assert any(
            len(change) % k == 0
            and _periodic(((change + after) if inserted else after)[: len(change) + 2 * k], k)
            for k in range(1, 7)
        ), rec


def test_truth_variants_are_at_least_15_bp_apart(small_demo):
    for sample in SAMPLES:
        records = _records(small_demo / "truth" / f"{sample}.vcf.gz")
        for a, b in itertools.pairwise(records):
            if a.chrom == b.chrom:
                assert b.start - a.stop >= 15, (a, b)


def test_second_sample_shares_part_of_the_first_samples_sites(small_demo):
    sites = {
        s: {(r.chrom, r.pos, r.ref, r.alts[0]) for r in _records(small_demo / "truth" / f"{s}.vcf.gz")}
        for s in SAMPLES
    }
    shared = len(sites["S1"] & sites["S2"]) / len(sites["S1"])
    assert 0.55 <= shared <= 0.65
    assert len(sites["S1"]) == len(sites["S2"])


def test_known_sites_hold_most_truth_sites_and_population_snps_no_sample_carries(small_demo):
    known_path = small_demo / "known_sites" / "known_sites.vcf.gz"
    assert (small_demo / "known_sites" / "known_sites.vcf.gz.tbi").is_file()
    fasta = pysam.FastaFile(str(small_demo / "reference" / "genome.fa"))
    with pysam.VariantFile(str(known_path)) as vcf:
        assert list(vcf.header.samples) == []
        assert {c: vcf.header.contigs[c].length for c in vcf.header.contigs} == dict(
            zip(fasta.references, fasta.lengths, strict=True)
        )
        known = {(r.chrom, r.pos, r.ref, r.alts[0]) for r in vcf}
    truth = {
        (r.chrom, r.pos, r.ref, r.alts[0])
        for s in SAMPLES
        for r in _records(small_demo / "truth" / f"{s}.vcf.gz")
    }
    for chrom, pos, ref, _ in known:
        assert fasta.fetch(chrom, pos - 1, pos - 1 + len(ref)) == ref
    assert 0.85 <= len(known & truth) / len(truth) <= 0.95  # a catalogue misses private variants
    population = known - truth
    assert population and all(len(ref) == len(alt) == 1 for _, _, ref, alt in population)
