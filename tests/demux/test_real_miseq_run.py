"""The real 2014 MiSeq run (trimmed to 10 clusters, GPL: read in place from the shared test data)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

RUN = "bcl-miseq-illumina2bam/140624_MS6_13349_A_MS2639979-300V2"
DEMULTIPLEXED = [
    "10589430",
    "10589441",
    "10589471",
    "10589491",
    "10589499",
    "10589510",
    "10589516",
    "10589524",
]


@pytest.fixture(scope="module")
def miseq_trusted(shared_testdata: Path, demux_workflow, tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("miseq")
    config = {
        "run_folder": str(shared_testdata / RUN),
        "outdir": "out",
        "demux": {"trust_filter_cluster_count": True, "min_reads": 1},
    }
    result = demux_workflow(workdir, config)
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir / "out"


def test_stale_locs_header_is_refused_by_default(
    shared_testdata: Path, demux_workflow, tmp_path: Path
) -> None:
    result = demux_workflow(tmp_path, {"run_folder": str(shared_testdata / RUN), "outdir": "out"}, "-n")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert (
        "Data/Intensities/L001/s_1_1101.locs: cluster-count mismatch: header declares 210781 clusters"
        in output
    )
    assert "set demux.trust_filter_cluster_count: true" in output


def test_trusting_the_filter_count_demultiplexes_the_run(miseq_trusted: Path) -> None:
    counts = (miseq_trusted / "demux/L001/counts.tsv").read_text().splitlines()[1:]
    per_sample = {line.split("\t")[0]: int(line.split("\t")[2]) for line in counts}
    assert {s for s, n in per_sample.items() if n} == {*DEMULTIPLEXED, "Undetermined"}
    assert all(per_sample[s] == 1 for s in DEMULTIPLEXED)
    assert per_sample["Undetermined"] == 2
    assert sum(per_sample.values()) == 10
    with gzip.open(miseq_trusted / "fastq/10589430_L001_R1.fastq.gz", "rt") as fh:
        header = fh.readline().strip()
    assert header == "@M02069:133:000000000-A9RLY:1:1101:15965:1332 1:N:0:TAGGGTTAACGATGTTT"


def test_staged_copy_is_used_and_the_original_untouched(shared_testdata: Path, miseq_trusted: Path) -> None:
    log = (miseq_trusted / "logs/demux/stage_run_folder.log").read_text()
    assert log == "Data/Intensities/L001/s_1_1101.locs: header cluster count set to 10\n"
    original = (shared_testdata / RUN / "Data/Intensities/L001/s_1_1101.locs").read_bytes()
    assert int.from_bytes(original[8:12], "little") == 210781


def test_missing_interop_is_stated_in_the_report(shared_testdata: Path, miseq_trusted: Path) -> None:
    interop = (miseq_trusted / "qc/demux/interop_lanes_mqc.tsv").read_text()
    assert f'# description: "no InterOp folder in {shared_testdata / RUN}"' in interop
