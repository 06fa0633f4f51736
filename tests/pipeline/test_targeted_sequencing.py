"""Targeted sequencing: an exome-like scenario (calls only in the padded targets, target metrics against
the simulator's truth), amplicon mode on simulated amplicons and on real ARTIC SARS-CoV-2 reads, and bad
targets BEDs stopped before any job."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pysam
import pytest

from seqpipe.accuracy import evaluate
from seqpipe.qc.verdicts import PASS, read_verdicts
from seqpipe.simulate import SimulationParams
from seqpipe.simulate.reads import READ_LENGTH
from seqpipe.simulate.scenarios import simulate_scenario

from .conftest import PipelineRun, fake_config, run_workflow, snakemake

PADDING = 100
# fastp's read-level checks, with their default limits
READ_LEVEL = {"pairs_passing_pct", "q30_pct", "adapter_trimmed_pct"}


CALLING = {"callers": ["bcftools", "freebayes"], "scatter": 2}


def _scenario(tmp: Path, name: str, genome_size: int, depth: float, seed: int) -> Path:
    data = tmp / "data"
    params = SimulationParams(
        outdir=data, seed=seed, genome_size=genome_size, samples=(("S1", depth), ("S2", depth)), lowmap=False
    )
    simulate_scenario(name, params)
    return data


@pytest.fixture(scope="module")
def exome(tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    tmp = tmp_path_factory.mktemp("exome")
    data = _scenario(tmp, "exome", 300_000, 40, 5)
    targets = {"bed": str(data / "targets.bed"), "padding": PADDING}
    return run_workflow(tmp, data, calling=CALLING, targets=targets)


def _bed(path: Path) -> list[tuple[str, int, int]]:
    rows = (line.split("\t") for line in path.read_text().splitlines())
    return [(f[0], int(f[1]), int(f[2])) for f in rows]


def _metrics(run: PipelineRun) -> dict[str, dict]:
    samples = json.loads(run.path("qc/qc_summary.json").read_text())["samples"]
    return {sample: summary["metrics"] for sample, summary in samples.items()}


@pytest.mark.parametrize("caller", ["bcftools", "freebayes"])
def test_exome_calls_lie_only_inside_the_padded_targets(exome: PipelineRun, caller: str) -> None:
    padded = [(c, s - PADDING, e + PADDING) for c, s, e in _bed(exome.data / "targets.bed")]
    for sample in ("S1", "S2"):
        with pysam.VariantFile(str(exome.path(f"vcf/{sample}.{caller}.vcf.gz"))) as vcf:
            records = [(r.chrom, r.start) for r in vcf]
        outside = [r for r in records if not any(c == r[0] and s <= r[1] < e for c, s, e in padded)]
        assert len(records) > 30 and not outside, outside[:5]


def test_exome_calls_meet_the_accuracy_floor_over_the_targets(exome: PipelineRun) -> None:
    result = evaluate(
        exome.data / "truth" / "S1.vcf.gz",
        exome.path("vcf/S1.bcftools.vcf.gz"),
        exome.data / "reference" / "genome.fa",
        strata={"targets": exome.data / "targets.bed"},
        pass_only=True,
    )
    snv = result.metrics["targets"]["SNV"]
    assert snv.tp > 30 and snv.recall >= 0.95 and snv.precision >= 0.95, snv


def test_exome_on_target_rate_and_depth_match_the_simulated_truth(exome: PipelineRun) -> None:
    truth = json.loads((exome.data / "manifest.json").read_text())["summary"]["scenario"]["exome"]
    padded = _bed(exome.path("reference/targets.padded.bed"))
    # a background read overlaps a padded target when it starts up to READ_LENGTH - 1 bases before it
    overlap = sum(e - s + READ_LENGTH - 1 for _, s, e in padded) / truth["genome_bp"]
    for sample, metrics in _metrics(exome).items():
        pairs = truth["pairs"][sample]
        reads = pairs["target"] + pairs["background"]
        on_target = 100 * (pairs["target"] + pairs["background"] * overlap) / reads
        depth = pairs["target"] * 2 * READ_LENGTH / truth["targets_bp"] + truth["background_depth"]
        assert abs(metrics["on_target_pct"] - on_target) <= 2, (metrics, on_target)
        assert abs(metrics["mean_target_depth"] - depth) <= 0.05 * depth, (metrics, depth)
    verdicts = {(v.sample, v.metric): v.verdict for v in read_verdicts(exome.path("qc/qc_summary.tsv"))}
    assert verdicts[("S1", "on_target_pct")] == verdicts[("S1", "mean_target_depth")] == PASS
    assert ("S1", "mean_depth") not in verdicts and ("S1", "tstv") not in verdicts  # whole-genome limits


def test_exome_20x_share_and_fold_80_agree_with_per_base_depths(exome: PipelineRun) -> None:
    """The same figures from samtools depth's per-base depths over the targets (duplicates excluded)."""
    reference = exome.path("reference/genome.fa")
    for sample, metrics in _metrics(exome).items():
        out = subprocess.run(
            ["samtools", "depth", "-a", "-J", "--reference", str(reference), "-b",
             str(exome.path("reference/targets.bed")), str(exome.path(f"cram/{sample}.cram"))],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        depths = sorted(int(line.split("\t")[2]) for line in out.splitlines())
        at_20x = 100 * sum(d >= 20 for d in depths) / len(depths)
        mean, reached = sum(depths) / len(depths), depths[int(0.2 * len(depths))]
        assert abs(metrics["target_20x_pct"] - at_20x) <= 0.01, (metrics, at_20x)
        # mosdepth's distribution has two decimals: the depth 80 % of bases reach may be one off
        low, high = mean / (reached + 1) - 0.01, mean / (reached - 1) + 0.01
        assert low <= metrics["fold_80"] <= high, (metrics, reached)
        assert 1 < metrics["fold_80"] < 2


def test_the_targets_bed_is_checked_before_any_job(tmp_path: Path, fake_inputs: dict) -> None:
    bed = tmp_path / "targets.bed"
    bed.write_text("track name=exome\nchr1\t10\t200\nchr7\t5\t50\nchr2\t500\t400\nchr2\t100\t9999\n")
    config = fake_config(
        tmp_path,
        fake_inputs,
        outdir=str(tmp_path / "results"),
        targets={"bed": str(bed)},
    )
    result = snakemake("--configfile", str(config), "--cores", "1", workdir=tmp_path)
    assert result.returncode != 0
    assert f"targets.bed: {bed} line 3: contig 'chr7' is not in the reference" in result.stderr
    assert f"targets.bed: {bed} line 4: end 400 is not after start 500" in result.stderr
    assert f"targets.bed: {bed} line 5: end 9999 is past the end of chr2 (1200 bp)" in result.stderr
    assert not (tmp_path / "results").exists()


@pytest.fixture(scope="module")
def amplicons(tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    tmp = tmp_path_factory.mktemp("amplicon")
    data = _scenario(tmp, "amplicon", 100_000, 200, 7)
    return run_workflow(
        tmp,
        data,
        calling=CALLING,
        targets={"bed": str(data / "targets.bed"), "padding": 0},
        amplicon={"primers": str(data / "primers.bed")},
    )


def _depths(cram: Path, reference: Path, regions: list[tuple[str, int, int]]) -> list[float]:
    """Mean depth over each region (samtools depth counts no soft-clipped base)."""
    means = []
    for chrom, start, end in regions:
        out = subprocess.run(
            ["samtools", "depth", "-a", "--reference", str(reference), "-r", f"{chrom}:{start + 1}-{end}",
             str(cram)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        depths = [int(line.split("\t")[2]) for line in out.splitlines()]
        means.append(sum(depths) / len(depths))
    return means


def _clip_stats(path: Path) -> dict[str, int]:
    return {k.strip(): int(v) for k, v in (line.split(":") for line in path.read_text().splitlines()[1:])}


def test_amplicon_mode_keeps_every_read_and_clips_the_primers(amplicons: PipelineRun) -> None:
    truth = json.loads((amplicons.data / "manifest.json").read_text())["summary"]["scenario"]["amplicon"]
    reference = amplicons.path("reference/genome.fa")
    primers = _bed(amplicons.data / "primers.bed")
    inserts = _bed(amplicons.data / "targets.bed")
    # every molecule read end to end, nothing collapsed: each insert base is in every read pair once or
    # twice (where the mates overlap), so at least as deep as the pairs per amplicon
    expected = truth["pairs_per_amplicon"]
    for sample, metrics in _metrics(amplicons).items():
        cram = amplicons.path(f"cram/{sample}.cram")
        assert metrics["duplicate_pct"] is None
        assert not amplicons.path(f"qc/markdup/{sample}.markdup.txt").exists()
        assert max(_depths(cram, reference, primers)) == 0  # no primer base is left
        assert min(_depths(cram, reference, inserts)) > 0.9 * expected
        clipped = _clip_stats(amplicons.path(f"qc/ampliconclip/{sample}.ampliconclip.txt"))
        assert clipped["TOTAL CLIPPED"] >= 0.99 * clipped["TOTAL READS"]
    verdicts = read_verdicts(amplicons.path("qc/qc_summary.tsv"))
    panel = {"mapped_pct", "on_target_pct", "mean_target_depth", "target_20x_pct", "fold_80"} | READ_LEVEL
    # beside the two samples' identity checks (a 30-amplicon panel has too few sites for a verdict) and
    # the per-lane read checks
    per_sample = {v.metric for v in verdicts if not v.metric.startswith("pairs_passing_pct.")}
    assert per_sample == panel | {"identity_discordance", "contamination_pct"}
    assert all(v.verdict == PASS for v in verdicts if v.metric in panel), verdicts


ARTIC = "sarscov2-artic-miseq"


def _artic_amplicons(primers: Path, bed: Path) -> None:
    """The ARTIC amplicons: from each LEFT primer's start to its RIGHT primer's end (alts included)."""
    spans: dict[int, tuple[str, int, int]] = {}
    for chrom, start, end, name, *_ in (line.split("\t") for line in primers.read_text().splitlines()):
        number = int(re.search(r"_(\d+)_(LEFT|RIGHT)", name).group(1))
        _, low, high = spans.get(number, (chrom, int(start), int(end)))
        spans[number] = (chrom, min(low, int(start)), max(high, int(end)))
    bed.write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in (spans[n] for n in sorted(spans))))


@pytest.fixture(scope="module")
def artic(shared_testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, PipelineRun]:
    """Real ARTIC V3 SARS-CoV-2 MiSeq reads, run as a panel with and without amplicon mode."""
    tmp = tmp_path_factory.mktemp("artic")
    source = shared_testdata / ARTIC
    (tmp / "samples.tsv").write_text("sample\nartic\n")
    (tmp / "units.tsv").write_text(
        f"sample\tunit\tfq1\tfq2\nartic\tL001\t{source}/subsample1_1.fastq.gz\t{source}/subsample1_2.fastq.gz\n"
    )
    _artic_amplicons(source / "nCoV-2019.primer.bed", tmp / "amplicons.bed")
    targets = {"bed": str(tmp / "amplicons.bed"), "padding": 0}
    reference = source / "nCoV-2019.reference.fasta"
    return {
        "marked": run_workflow(tmp, tmp, "marked", reference, calling=CALLING, targets=targets),
        "amplicon": run_workflow(
            tmp, tmp, "amplicon", reference, calling=CALLING, targets=targets,
            amplicon={"primers": str(source / "nCoV-2019.primer.bed")},
        ),
    }  # fmt: skip


def test_artic_reads_keep_their_depth_in_amplicon_mode(artic: dict[str, PipelineRun]) -> None:
    marked, amplicon = (_metrics(artic[mode])["artic"] for mode in ("marked", "amplicon"))
    assert marked["duplicate_pct"] > 95 and marked["mean_target_depth"] < 3  # the collapse of issue 17
    assert amplicon["duplicate_pct"] is None
    assert amplicon["mean_target_depth"] > 25 * marked["mean_target_depth"]
    assert amplicon["mapped_pct"] > 99 and amplicon["on_target_pct"] > 99


def test_artic_primers_are_clipped_from_almost_every_read(artic: dict[str, PipelineRun]) -> None:
    clipped = _clip_stats(artic["amplicon"].path("qc/ampliconclip/artic.ampliconclip.txt"))
    assert clipped["TOTAL CLIPPED"] > 0.95 * clipped["TOTAL READS"]
    reference = artic["amplicon"].path("reference/genome.fa")
    cram = artic["amplicon"].path("cram/artic.cram")
    with pysam.AlignmentFile(str(cram), "rc", reference_filename=str(reference)) as reads:
        soft_clipped = [
            r.cigartuples[0][0] == 4 or r.cigartuples[-1][0] == 4 for r in reads if not r.is_unmapped
        ]
    assert sum(soft_clipped) > 0.95 * len(soft_clipped)


def test_artic_panel_verdicts_judge_the_amplicons_not_the_genome(artic: dict[str, PipelineRun]) -> None:
    verdicts = {v.metric: v for v in read_verdicts(artic["amplicon"].path("qc/qc_summary.tsv"))}
    # no duplicate rate, no whole-genome depth or Ts/Tv limits for a viral panel
    assert (
        set(verdicts)
        == {"mapped_pct", "on_target_pct", "mean_target_depth", "target_20x_pct", "fold_80"} | READ_LEVEL
    )
    assert verdicts["mapped_pct"].verdict == verdicts["on_target_pct"].verdict == PASS
    assert verdicts["pairs_passing_pct"].verdict == PASS
    assert verdicts["mean_target_depth"].verdict == PASS
    # this public subsample covers few amplicons: most of the panel is below 20x, as a lab should see
    assert verdicts["target_20x_pct"].value < 20 and verdicts["target_20x_pct"].verdict == "FAIL"
    # and more than a fifth of it has no read at all: the fold-80 penalty is infinite, and said so
    assert verdicts["fold_80"].verdict == "FAIL" and verdicts["fold_80"].value is None
    assert re.fullmatch(
        r"fold_80 is not finite: [\d.]+ % of target bases have no coverage", verdicts["fold_80"].reason
    )


def test_fewer_regions_than_chunks_leave_a_chunk_empty_and_both_callers_still_call(
    artic: dict[str, PipelineRun],
) -> None:
    """ARTIC's tiled amplicons overlap: merged they are one region, which no chunk cuts, so of the two
    chunks (scatter 2) the second is empty, and both callers leave it without calls."""
    run = artic["amplicon"]
    chunks = [_bed(bed) for bed in sorted(run.path("reference/chunks").glob("*.bed"))]
    assert chunks == [_bed(run.path("reference/callable.bed")), []] and len(chunks[0]) == 1
    for caller in ("bcftools", "freebayes"):
        with pysam.VariantFile(str(run.path(f"vcf/artic.{caller}.vcf.gz"))) as vcf:
            assert list(vcf)
