"""The hand-off to the germline pipeline (samples/units) and the `seqpipe demux` command."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from seqpipe.demux.handoff import qc_outputs, samples_and_units
from seqpipe.demux.plan import load_plan
from seqpipe.execution.command import workflow_environment


def test_samples_and_units_point_at_the_demux_outputs(simulated_run, tmp_path: Path) -> None:
    annotations = tmp_path / "samples.tsv"
    annotations.write_text("sample\tgroup\tsex\nSAMPLE-2\tfamily1\tfemale\n")
    config = {"run_folder": str(simulated_run.folder), "outdir": "res/", "samples": str(annotations)}
    samples, units = samples_and_units(config)
    assert all(list(row) == ["sample", "group", "sex"] for row in samples)
    assert all(list(row) == ["sample", "unit", "fq1", "fq2", "platform", "library"] for row in units)
    assert samples == [
        {"sample": "SAMPLE-1", "group": simulated_run.folder.name, "sex": ""},
        {"sample": "SAMPLE-2", "group": "family1", "sex": "female"},
        {"sample": "SAMPLE-3", "group": simulated_run.folder.name, "sex": ""},
    ]
    assert len(units) == 6
    first = units[0]
    assert first == {
        "sample": "SAMPLE-1",
        "unit": "L001",
        "fq1": "res/fastq/SAMPLE-1_L001_R1.fastq.gz",
        "fq2": "res/fastq/SAMPLE-1_L001_R2.fastq.gz",
        "platform": "ILLUMINA",
        "library": "SAMPLE-1",
    }
    assert sorted(u["unit"] for u in units if u["sample"] == "SAMPLE-3") == ["L001", "L002"]


def test_qc_outputs_hold_the_verdicts_and_picards_metrics_of_each_lane(simulated_run) -> None:
    outputs = qc_outputs(load_plan({"run_folder": str(simulated_run.folder)}))
    assert "results/qc/demux/demux_qc.tsv" in outputs
    assert {"results/qc/demux/L001.barcode_metrics.txt", "results/qc/demux/L002.barcode_metrics.txt"} <= {
        *outputs
    }


def _seqpipe(*args: str) -> subprocess.CompletedProcess:
    env = workflow_environment()
    return subprocess.run(["seqpipe", "demux", *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_validate_summarises_a_good_run(simulated_run) -> None:
    result = _seqpipe("validate", str(simulated_run.folder))
    assert result.returncode == 0, result.stderr
    assert "lane 1: 3 samples, 2 tiles, 94 clusters (92 PF), READ_STRUCTURE=36T8B8B36T" in result.stdout
    assert "i5 (Index2): v1/IEM sheet on the instrument (model not recognised from its ID)" in result.stdout
    assert result.stdout.rstrip().endswith("ready to demultiplex")


def test_cli_validate_reports_every_problem(simulated_run, tmp_path: Path) -> None:
    sheet = tmp_path / "SampleSheet.csv"
    text = (simulated_run.folder / "SampleSheet.csv").read_text()
    sheet.write_text(text.replace("1,SAMPLE-1,SAMPLE-1,TAAGGCGA", "1,SAMPLE-1,SAMPLE-1,TAAGGCGAAAAA"))
    result = _seqpipe("validate", str(simulated_run.folder), "--sample-sheet", str(sheet))
    assert result.returncode == 1
    assert "Error: sample sheet" in result.stderr
    assert f"{sheet}, line 14, field index: index of 12 bases but the run has 8 index cycles" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("layout", ["bcl", "novaseq-x"])
def test_cli_writes_a_run_folder_from_units(tmp_path: Path, layout: str) -> None:
    import gzip

    reads = tmp_path / "reads"
    reads.mkdir()
    rows = ["sample\tunit\tfq1\tfq2"]
    for sample in ("A", "B"):
        for lane in (1, 2):
            for read in (1, 2):
                records = "".join(
                    f"@{sample}{lane}_{n}/{read}\n{'ACGT' * 10}\n+\n{'I' * 40}\n" for n in range(5)
                )
                (reads / f"{sample}_{lane}_R{read}.fq.gz").write_bytes(gzip.compress(records.encode()))
            rows.append(
                f"{sample}\tL00{lane}\treads/{sample}_{lane}_R1.fq.gz\treads/{sample}_{lane}_R2.fq.gz"
            )
    (tmp_path / "units.tsv").write_text("\n".join(rows) + "\n")
    units, run = str(tmp_path / "units.tsv"), str(tmp_path / "run")
    result = _seqpipe(
        "simulate-run", "--units", units, "--outdir", run, "--undetermined", "2", "--index-hops", "1",
        "--layout", layout,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # 2 samples x 5 pairs + 2 undetermined + 1 index hop, per lane
    assert "26 clusters in lanes [1, 2]" in result.stdout
    written_cbcl = (tmp_path / "run/Data/Intensities/BaseCalls/L002/C1.1/L002_2.cbcl").is_file()
    assert written_cbcl is (layout != "bcl")
    checked = _seqpipe("validate", str(tmp_path / "run"))
    assert checked.returncode == 0, checked.stderr
