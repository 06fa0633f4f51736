"""The run metrics labs read first, on a run folder whose Q30, PF and index hops the test wrote itself."""

from __future__ import annotations

import csv
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from seqpipe.simulate.bcl_run_folder import (
    I5_INDEXES,
    I7_INDEXES,
    Cluster,
    SheetSample,
    WrittenCluster,
    write_run_folder,
)

SAMPLES = [SheetSample(f"S{i + 1}", I7_INDEXES[i], I5_INDEXES[i]) for i in range(3)]
READ_LENGTH = 20
# Cycles of each template read called at Q35 (the rest at Q12), per lane: lane 1 below the threshold.
GOOD_CYCLES = {1: 10, 2: 18}
HOPS = {1: 6, 2: 1}  # clusters with S1's i7 and S2's i5
CONFIG_DEMUX = {
    "min_reads": 1,
    "min_percent_q30": 80,
    "min_percent_pf": 90,
    "min_density_k_mm2": 10,
    "max_density_k_mm2": 40,
    "max_index_hopping_percent": 5,
}


@dataclass(frozen=True)
class MetricsRun:
    written: list[WrittenCluster]
    qc: dict[tuple[str, str], list[str]]  # (lane, metric) -> value, threshold, verdict, reason
    outdir: Path


def _lane_clusters(lane: int, rng: random.Random) -> list[Cluster]:
    def seq() -> str:
        return "".join(rng.choice("ACGT") for _ in range(READ_LENGTH))

    good = GOOD_CYCLES[lane]
    quals = "D" * good + "-" * (READ_LENGTH - good)  # Q35, Q12
    clusters = [
        Cluster(f"{s.sample_id}_{lane}_{n}", s.sample_id, seq(), quals, seq(), quals, s.index1, s.index2)
        for s in SAMPLES
        for n in range(15 + 5 * lane)
    ]
    clusters += [
        Cluster(f"hop_{lane}_{n}", "", seq(), quals, seq(), quals, SAMPLES[0].index1, SAMPLES[1].index2)
        for n in range(HOPS[lane])
    ]
    clusters += [Cluster(f"unknown_{lane}", "", seq(), quals, seq(), quals, "GGGGGGGG", "AAAAAAAA")]
    rng.shuffle(clusters)
    return clusters


@pytest.fixture(scope="module")
def metrics_run(tmp_path_factory: pytest.TempPathFactory, demux_workflow) -> MetricsRun:
    rng = random.Random(11)
    base = tmp_path_factory.mktemp("metrics")
    lanes = {lane: _lane_clusters(lane, rng) for lane in (1, 2)}
    # lane 1: 10 of its 67 clusters fail filter, one of them a hop; lane 2: one of 77
    failing = {c.name for c in lanes[1] if c.sample == "S3"}
    failing = set(sorted(failing)[:9]) | {"hop_1_0", "S2_2_0"}
    written = write_run_folder(base / "run", lanes, SAMPLES, failing_filter=frozenset(failing))
    config = {"run_folder": str(base / "run"), "outdir": "out", "demux": CONFIG_DEMUX}
    result = demux_workflow(base / "wf", config)
    assert result.returncode == 0, result.stderr[-4000:]
    outdir = base / "wf" / "out"
    with (outdir / "qc" / "demux" / "demux_qc.tsv").open() as fh:
        rows = list(csv.reader(fh, delimiter="\t"))[1:]
    return MetricsRun(written, {(r[0], r[1]): r[2:] for r in rows}, outdir)


def _on_lane(run: MetricsRun, lane: int) -> list[WrittenCluster]:
    return [w for w in run.written if w.lane == lane]


def test_percent_q30_per_read_and_lane(metrics_run: MetricsRun) -> None:
    for lane in (1, 2):
        passing = [w.cluster for w in _on_lane(metrics_run, lane) if w.passes_filter]
        for label, quals in (("R1", [c.qual1 for c in passing]), ("R2", [c.qual2 for c in passing])):
            # InterOp (like SAV) leaves out the last cycle of each read
            calls = [ord(q) - 33 for qual in quals for q in qual[:-1]]
            expected = 100 * sum(q >= 30 for q in calls) / len(calls)
            value, threshold, verdict, reason = metrics_run.qc[(f"L00{lane}", f"percent_q30_{label}")]
            assert float(value) == pytest.approx(expected, abs=1e-3), (lane, label)
            assert threshold == ">= 80"
            if lane == 1:
                assert verdict == "FAIL"
                assert reason == f"percent_q30_{label} {expected:g} is below the minimum 80"
            else:
                assert (verdict, reason) == ("PASS", "")
        for label in ("I1", "I2"):  # the simulator calls index cycles at Q40
            assert metrics_run.qc[(f"L00{lane}", f"percent_q30_{label}")][:3] == ["100", ">= 80", "PASS"]
    assert float(metrics_run.qc[("L001", "percent_q30_R1")][0]) == pytest.approx(100 * 10 / 19, abs=1e-3)


def test_percent_pf_and_density_per_lane(metrics_run: MetricsRun) -> None:
    for lane, verdict in ((1, "FAIL"), (2, "PASS")):
        written = _on_lane(metrics_run, lane)
        expected = 100 * sum(w.passes_filter for w in written) / len(written)
        value, threshold, got, reason = metrics_run.qc[(f"L00{lane}", "percent_pf")]
        assert float(value) == pytest.approx(expected, abs=1e-4)
        assert (threshold, got) == (">= 90", verdict)
        assert reason == ("" if verdict == "PASS" else f"percent_pf {expected:g} is below the minimum 90")
        # the simulator's tile metrics give each tile a density of 1000 x its clusters per mm2
        tiles = {w.tile for w in written}
        density = sum(sum(w.tile == t for w in written) for t in tiles) / len(tiles)
        assert float(metrics_run.qc[(f"L00{lane}", "density_k_mm2")][0]) == pytest.approx(density)
        assert metrics_run.qc[(f"L00{lane}", "density_k_mm2")][1:3] == [
            ">= 10 and <= 40",
            "FAIL" if density > 40 else "PASS",
        ]


def test_index_hopping_estimate_per_lane(metrics_run: MetricsRun) -> None:
    for lane in (1, 2):
        passing = [w.cluster for w in _on_lane(metrics_run, lane) if w.passes_filter]
        hops = sum(c.name.startswith("hop_") for c in passing)
        assigned = sum(bool(c.sample) for c in passing)
        value, threshold, verdict, reason = metrics_run.qc[(f"L00{lane}", "percent_index_hopping")]
        assert threshold == "<= 5"
        rate = 100 * hops / (hops + assigned)
        assert float(value) == pytest.approx(rate, abs=1e-4)
        assert (verdict, reason) == (
            ("WARN", f"percent_index_hopping {rate:g} is above the maximum 5") if rate > 5 else ("PASS", "")
        )
    assert metrics_run.qc[("L001", "percent_index_hopping")][2] == "WARN"  # 5 PF hops, 51 assigned
    lanes = (metrics_run.outdir / "qc" / "demux" / "demux_lanes_mqc.tsv").read_text()
    assert "\tIndex hops\t% index hopping\t% PF" in lanes


def test_run_metrics_reach_multiqc(metrics_run: MetricsRun, tmp_path: Path) -> None:
    multiqc = Path(sys.executable).parent / "multiqc"
    subprocess.run(
        [str(multiqc), "--no-ansi", "-q", "-o", str(tmp_path), str(metrics_run.outdir / "qc" / "demux")],
        check=True,
        capture_output=True,
        timeout=300,
    )
    with (tmp_path / "multiqc_data" / "multiqc_interop_lanes.txt").open() as fh:
        table = {row["Sample"]: row for row in csv.DictReader(fh, delimiter="\t")}
    assert float(table["L001"]["% >=Q30 R1"]) == pytest.approx(
        float(metrics_run.qc[("L001", "percent_q30_R1")][0]), abs=0.01
    )
    with (tmp_path / "multiqc_data" / "multiqc_demux_lanes.txt").open() as fh:
        lanes = {row["Sample"]: row for row in csv.DictReader(fh, delimiter="\t")}
    assert float(lanes["L001"]["% index hopping"]) == pytest.approx(
        float(metrics_run.qc[("L001", "percent_index_hopping")][0]), abs=0.001
    )
