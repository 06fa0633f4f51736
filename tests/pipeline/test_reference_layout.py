"""Which contigs are called, how the callable reference is chunked, the PARs of each build, and the
ploidy every caller is given for each sex."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from seqpipe.chunks import write_reference_layout
from seqpipe.ploidy import calling_sex, write_caller_ploidy, write_gatk_intervals
from seqpipe.reference.contigs import DEFAULT_EXCLUDE, ContigSelection, ReferenceError, read_alt
from seqpipe.reference.regions import read_bed
from seqpipe.reference.sex_chromosomes import SexChromosomes, check_pars_known

from .conftest import fake_config, snakemake

REPO = Path(__file__).resolve().parents[2]
GRCH38 = SexChromosomes.from_config({"build": "GRCh38"})
GRCH38_CONTIGS = [
    "chr1", "chr2", "chrX", "chrY", "chrM", "chr1_KI270706v1_random", "chrUn_KI270302v1",
    "chrUn_JTFH01000001v1_decoy", "chrEBV", "HLA-A*01:01:01:01", "chr6_GL000250v2_alt",
]  # fmt: skip


def test_grch38_defaults_call_the_primary_assembly_only() -> None:
    called = ContigSelection().called(GRCH38_CONTIGS, alt_contigs=set())
    assert called == ["chr1", "chr2", "chrX", "chrY", "chrM"]
    grch37 = ["1", "X", "Y", "MT", "GL000192.1", "hs37d5", "NC_007605"]
    assert ContigSelection().called(grch37, set()) == ["1", "X", "Y", "MT"]


def test_the_schema_default_is_the_documented_exclusion_and_alt_contigs_are_never_called() -> None:
    schema = yaml.safe_load((REPO / "config" / "schemas" / "config.schema.yaml").read_text())
    contigs = schema["properties"]["calling"]["properties"]["contigs"]["properties"]
    assert contigs["exclude"]["default"] == DEFAULT_EXCLUDE
    selection = ContigSelection(include="chr.*", exclude="chrM")
    assert selection.called(["chr1", "chrM", "chr1_alt_hap", "decoy"], {"chr1_alt_hap"}) == ["chr1"]


def test_an_alt_file_naming_contigs_missing_from_the_fasta_is_refused_by_line(tmp_path: Path) -> None:
    alt = tmp_path / "genome.fa.alt"
    alt.write_text(
        "@SQ\tSN:chr1_alt\tLN:100\n"
        "chr1_alt\t0\tchr1\t1\t255\t100M\t*\t0\t0\t*\t*\n"
        "chr9_alt\t0\tchr9\t1\t255\t100M\t*\t0\t0\t*\t*\n"
    )
    assert read_alt(alt, ["chr1", "chr1_alt", "chr9_alt", "chr9"]) == {"chr1_alt", "chr9_alt"}
    with pytest.raises(ReferenceError) as refused:
        read_alt(alt, ["chr1", "chr1_alt"])
    assert str(refused.value).splitlines()[1:] == [
        f"{alt} line 3: ALT contig 'chr9_alt' is not in the reference FASTA",
        f"{alt} line 3: primary contig 'chr9' is not in the reference FASTA",
    ]


def test_chunks_are_balanced_by_callable_length_and_cut_only_in_gaps(tmp_path: Path) -> None:
    # chr1: 0-4600, gap 4600-5100, 5100-10000; chr2: 10000 bp; 19500 callable bases
    (tmp_path / "genome.fa").write_text(
        ">chr1\n" + "A" * 4600 + "N" * 500 + "C" * 4900 + "\n>chr2\n" + "G" * 10000 + "\n"
        ">chrUn_x\n" + "T" * 3000 + "\n"
    )
    (tmp_path / "genome.fa.fai").write_text("chr1\t10000\t6\t10000\t10001\nchr2\t10000\t0\t10000\t10001\n"
                                            "chrUn_x\t3000\t0\t3000\t3001\n")  # fmt: skip
    beds = [tmp_path / f"{i}.bed" for i in range(4)]
    write_reference_layout(
        tmp_path / "genome.fa", tmp_path / "genome.fa.fai", None, ContigSelection(), GRCH38, beds,
        tmp_path / "callable.bed", tmp_path / "x.bed",
    )  # fmt: skip
    chunks = [read_bed(b) for b in beds]
    # ideal cuts at 4875, 9750, 14625 callable bases: the first two move into the gap and to the end
    # of chr1; chr2 has no gap, so it is not cut and the last chunk is empty. No N base and no
    # unplaced contig is called
    assert chunks == [[("chr1", 0, 4600)], [("chr1", 5100, 10000)], [("chr2", 0, 10000)], []]
    assert read_bed(tmp_path / "callable.bed") == [
        ("chr1", 0, 4600),
        ("chr1", 5100, 10000),
        ("chr2", 0, 10000),
    ]
    assert read_bed(tmp_path / "x.bed") == []


def test_targeted_chunks_are_the_padded_targets_inside_the_callable_reference(tmp_path: Path) -> None:
    # chr1: 0-4600, gap 4600-5100, 5100-10000; chrX: 10000 bp before PAR1 (GRCh38), so non-PAR
    (tmp_path / "genome.fa").write_text(
        ">chr1\n" + "A" * 4600 + "N" * 500 + "C" * 4900 + "\n>chrX\n" + "G" * 10000 + "\n"
    )
    (tmp_path / "genome.fa.fai").write_text("chr1\t10000\t6\t10000\t10001\nchrX\t10000\t0\t10000\t10001\n")
    # a target across the gap, one inside chr1's second stretch, one on X
    (tmp_path / "padded.bed").write_text("chr1\t4000\t5200\nchr1\t7000\t7500\nchrX\t100\t300\n")
    beds = [tmp_path / f"{i}.bed" for i in range(2)]
    write_reference_layout(
        tmp_path / "genome.fa", tmp_path / "genome.fa.fai", None, ContigSelection(), GRCH38, beds,
        tmp_path / "callable.bed", tmp_path / "x.bed", tmp_path / "padded.bed",
    )  # fmt: skip
    callable_targets = [("chr1", 4000, 4600), ("chr1", 5100, 5200), ("chr1", 7000, 7500), ("chrX", 100, 300)]
    assert read_bed(tmp_path / "callable.bed") == callable_targets
    # 1400 callable bases in two chunks of 700: the first target ends there
    assert [read_bed(b) for b in beds] == [callable_targets[:2], callable_targets[2:]]
    # sex inference reads X only where an exome has reads
    assert read_bed(tmp_path / "x.bed") == [("chrX", 100, 300)]


def test_built_in_pars_per_build_and_pars_from_config() -> None:
    assert GRCH38.x == "chrX" and GRCH38.pars["chrX"] == [(10_000, 2_781_479), (155_701_382, 156_030_895)]
    grch37 = SexChromosomes.from_config({"build": "GRCh37"})
    assert (grch37.x, grch37.y) == ("X", "Y") and grch37.pars["X"][0] == (60_000, 2_699_520)
    custom = SexChromosomes.from_config({"build": "mine", "par": {"chrX": [[1, 100]], "chrY": [[1, 50]]}})
    assert custom.non_par("chrX", 1000) == [("chrX", 100, 1000)]
    assert SexChromosomes.from_config({"build": "CHM13"}).pars is None
    with pytest.raises(ReferenceError, match=r"reference\.par names chr23"):
        SexChromosomes.from_config({"par": {"chr23": [[1, 5]]}})


def test_unknown_pars_stop_a_run_with_a_male_and_say_how_to_set_them() -> None:
    unknown = SexChromosomes.from_config({"build": "CHM13"})
    with pytest.raises(ReferenceError) as stopped:
        check_pars_known(unknown, ["chr1", "chrX", "chrY"], {"A": "female", "B": "male", "C": "unknown"})
    message = str(stopped.value)
    assert "samples B, C are male or of unknown sex" in message
    assert (
        "Set reference.build to one with built-in PARs (GRCh38, GRCh37), or give them as reference.par"
        in message
    )
    check_pars_known(unknown, ["chr1", "chrX"], {"A": "female"})
    check_pars_known(unknown, ["chr1", "chr2"], {"B": "male"})  # no X: nothing depends on PARs


def _fai(tmp_path: Path) -> Path:
    fai = tmp_path / "genome.fa.fai"
    fai.write_text("chr1\t1000\t0\t60\t61\nchrX\t200000000\t0\t60\t61\nchrY\t60000000\t0\t60\t61\n")
    return fai


def test_bcftools_and_freebayes_ploidy_follow_each_samples_sex(tmp_path: Path) -> None:
    files = [tmp_path / name for name in ("ploidy.txt", "samples.txt", "cnv.bed")]
    write_caller_ploidy(GRCH38, _fai(tmp_path), {"M": "male", "F": "female", "U": "unknown"}, *files)
    # chrX:1-10000 lies outside PAR1 (it is N in GRCh38)
    assert files[0].read_text().splitlines() == [
        "chrX\t1\t10000\tM\t1",
        "chrX\t2781480\t155701382\tM\t1",
        "chrX\t156030896\t200000000\tM\t1",
        "chrY\t1\t60000000\tM\t1",
        "chrY\t1\t60000000\tF\t0",
        "*\t*\t*\tM\t2",
        "*\t*\t*\tF\t2",
        "*\t*\t*\tU\t2",
    ]
    assert files[1].read_text() == "M\tM\nF\tF\nU\tU\n"
    assert files[2].read_text().splitlines() == [
        "chrX\t0\t10000\tM\t1",
        "chrX\t2781479\t155701382\tM\t1",
        "chrX\t156030895\t200000000\tM\t1",
        "chrY\t0\t60000000\tM\t1",
        "chrY\t0\t60000000\tF\t0",
    ]


def test_gatk_intervals_split_each_chunk_by_ploidy(tmp_path: Path) -> None:
    chunk = tmp_path / "000.bed"
    chunk.write_text("chr1\t0\t1000\nchrX\t0\t200000000\nchrY\t0\t60000000\n")
    for sex, haploid, diploid in (
        ("male",
         [("chrX", 0, 10_000), ("chrX", 2_781_479, 155_701_382), ("chrX", 156_030_895, 200_000_000),
          ("chrY", 0, 60_000_000)],
         [("chr1", 0, 1000), ("chrX", 10_000, 2_781_479), ("chrX", 155_701_382, 156_030_895)]),
        ("female", [], [("chr1", 0, 1000), ("chrX", 0, 200_000_000)]),
    ):  # fmt: skip
        one, two = tmp_path / f"{sex}.1.bed", tmp_path / f"{sex}.2.bed"
        write_gatk_intervals(GRCH38, _fai(tmp_path), sex, [chunk], [one], [two])
        assert read_bed(one) == haploid and read_bed(two) == diploid


def test_unknown_sex_is_called_as_inferred(tmp_path: Path) -> None:
    inferred = tmp_path / "S.sex.json"
    inferred.write_text('{"inferred": "male"}')
    assert calling_sex("unknown", inferred) == "male"
    assert calling_sex("female", None) == "female"
    for undecided in ("ambiguous", "not checked"):  # (no X in the reference)
        inferred.write_text(json.dumps({"inferred": undecided}))
        assert calling_sex("unknown", inferred) == "unknown"
    files = [tmp_path / name for name in ("ploidy.txt", "samples.txt", "cnv.bed")]
    write_caller_ploidy(GRCH38, _fai(tmp_path), {"S": calling_sex("unknown", inferred)}, *files)
    assert files[1].read_text() == "S\tU\n" and files[2].read_text() == ""


def test_a_second_run_on_the_same_reference_leaves_the_first_one_up_to_date(
    tmp_path: Path, fake_inputs: dict
) -> None:
    """Snakemake touches every output after its job: a reference linked into a run would be re-dated by
    the next run that links it, and every run before it would look out of date down to alignment."""
    fasta = fake_inputs["reference"]
    os.utime(fasta, ns=(10**18, 10**18))  # an old reference, as a shared /refs FASTA is
    for run in ("first", "second"):
        config = fake_config(tmp_path, fake_inputs, outdir=str(tmp_path / run))
        done = snakemake("--configfile", str(config), "--cores", "1", "--until", "link_reference",
                         workdir=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
    assert fasta.stat().st_mtime_ns == 10**18
    config = fake_config(tmp_path, fake_inputs, outdir=str(tmp_path / "first"))
    again = snakemake("--configfile", str(config), "-n", "--until", "link_reference", workdir=tmp_path)
    assert again.returncode == 0 and "rule link_reference:" not in again.stdout, again.stdout[-2000:]
