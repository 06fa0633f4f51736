"""The demux rules on a simulated run folder: every read in its sample, stats, md5, QC."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest

from seqpipe.demux.plan import load_plan
from seqpipe.demux.qc import write_demux_qc


def _fastq(path: Path) -> dict[str, tuple[str, str]]:
    with gzip.open(path, "rt") as fh:
        lines = fh.read().splitlines()
    return {lines[i][1:].split()[0]: (lines[i + 1], lines[i + 3]) for i in range(0, len(lines), 4)}


@pytest.fixture(scope="module")
def demultiplexed(simulated_run, demux_workflow, tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("demux")
    config = {"run_folder": str(simulated_run.folder), "outdir": "out", "demux": {"min_reads": 50}}
    result = demux_workflow(workdir, config)
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir / "out"


def test_every_read_lands_in_its_sample(simulated_run, demultiplexed: Path) -> None:
    outputs: dict[tuple[str, int, int], dict] = {}
    for written in simulated_run.written:
        sample = written.cluster.sample or "Undetermined"
        for read, (bases, quals) in enumerate(
            [(written.cluster.read1, written.cluster.qual1), (written.cluster.read2, written.cluster.qual2)],
            1,
        ):
            key = (sample, written.lane, read)
            if key not in outputs:
                outputs[key] = _fastq(
                    demultiplexed / "fastq" / f"{sample}_L{written.lane:03d}_R{read}.fastq.gz"
                )
            if written.passes_filter:
                assert outputs[key][written.read_name] == (bases, quals), (written.cluster.name, read)
            else:
                assert written.read_name not in outputs[key]
    # Nothing else: each FASTQ holds exactly the PF clusters written for it.
    for (sample, lane, _read), records in outputs.items():
        expected = sum(
            1
            for w in simulated_run.written
            if w.lane == lane and (w.cluster.sample or "Undetermined") == sample and w.passes_filter
        )
        assert len(records) == expected


def test_md5_files_match_their_fastq(demultiplexed: Path) -> None:
    fastqs = sorted((demultiplexed / "fastq").glob("*.fastq.gz"))
    assert len(fastqs) == 2 * 2 * 4  # (3 samples + Undetermined) x 2 reads x 2 lanes
    for fastq in fastqs:
        digest, name = Path(f"{fastq}.md5").read_text().split()
        assert (digest, name) == (hashlib.md5(fastq.read_bytes()).hexdigest(), fastq.name)


def test_no_partial_or_work_files_remain(demultiplexed: Path) -> None:
    assert not list(demultiplexed.rglob("*.partial"))
    assert not list((demultiplexed / "demux").glob("L*/work"))


def test_demux_stats_and_thresholds(simulated_run, demultiplexed: Path) -> None:
    qc = (demultiplexed / "qc" / "demux" / "demux_qc.tsv").read_text().splitlines()
    assert qc[0] == "sample\tmetric\tvalue\tthreshold\tverdict\treason"
    rows = {tuple(line.split("\t")[:2]): line.split("\t")[2:] for line in qc[1:]}
    per_sample = {s.sample_id: 0 for s in simulated_run.samples}
    for w in simulated_run.written:
        if w.cluster.sample and w.passes_filter:
            per_sample[w.cluster.sample] += 1
    for sample, reads in per_sample.items():
        assert rows[(sample, "demux_read_pairs")] == [str(reads), ">= 50", "PASS", ""]
    undetermined, lane1_total = 4, sum(1 for w in simulated_run.written if w.lane == 1 and w.passes_filter)
    assert float(rows[("L001", "percent_undetermined")][0]) == pytest.approx(
        100 * undetermined / lane1_total, abs=1e-4
    )
    unknown = (demultiplexed / "qc" / "demux" / "demux_unknown_barcodes_mqc.tsv").read_text()
    assert "L001 #1\tGGGGGGGG+TTTTTTTT\t4" in unknown
    reads = (demultiplexed / "qc" / "demux" / "demux_reads_mqc.tsv").read_text()
    assert '# plot_type: "bargraph"' in reads
    assert "Undetermined\t4\t4" in reads


def test_interop_metrics_reach_the_report(simulated_run, demultiplexed: Path) -> None:
    interop = (demultiplexed / "qc" / "demux" / "interop_lanes_mqc.tsv").read_text().splitlines()
    clusters = sum(1 for w in simulated_run.written if w.lane == 1)
    assert interop[-2].startswith(f"L001\t{clusters}\t{clusters - 2}\t")
    assert (demultiplexed / "qc" / "demux" / "L001.barcode_metrics.txt").is_file()


def test_too_few_reads_fail_the_threshold(simulated_run, demultiplexed: Path, tmp_path: Path) -> None:
    config = {
        "run_folder": str(simulated_run.folder),
        "demux": {"min_reads": 1000, "max_undetermined_percent": 1},
    }
    lanes = sorted((demultiplexed / "demux").glob("L00?"))
    write_demux_qc(load_plan(config), lanes, tmp_path)
    qc = (tmp_path / "demux_qc.tsv").read_text()
    assert re.search(r"\t>= 1000\tFAIL\tdemux_read_pairs \d+ is below the minimum 1000", qc)
    assert "L002\tpercent_undetermined\t" in qc
    assert re.search(r"\t<= 1\tWARN\tpercent_undetermined [\d.]+ is above the maximum 1", qc)
