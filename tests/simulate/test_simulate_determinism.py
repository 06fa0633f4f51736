"""Same seed, same bytes; another seed, other data."""

from __future__ import annotations

import json
from pathlib import Path

from seqpipe.simulate import SimulationParams, simulate


def _digests(outdir: Path) -> dict[str, str]:
    files = json.loads((outdir / "manifest.json").read_text())["files"]
    return {name: entry["sha256"] for name, entry in files.items()}


def test_same_seed_in_another_directory_gives_identical_files(small_demo, small_params, tmp_path):
    again = tmp_path / "again"
    simulate(SimulationParams(outdir=again, threads=1, **small_params))
    first, second = _digests(small_demo), _digests(again)
    assert first.keys() == second.keys()
    # units.tsv holds absolute paths, so only it may differ, and only by the directory.
    assert {k for k in first if first[k] != second[k]} <= {"units.tsv"}
    units_first = (small_demo / "units.tsv").read_text().replace(str(small_demo.resolve()), "DIR")
    units_second = (again / "units.tsv").read_text().replace(str(again.resolve()), "DIR")
    assert units_first == units_second
    for name, digest in first.items():
        if name != "units.tsv":
            assert digest == second[name], name


def test_regenerating_in_place_reproduces_the_manifest(small_params, tmp_path):
    outdir = tmp_path / "demo"
    params = SimulationParams(outdir=outdir, **{**small_params, "samples": (("S1", 3.0),)})
    simulate(params)
    before = (outdir / "manifest.json").read_bytes()
    simulate(params)  # replaces the earlier data set
    assert (outdir / "manifest.json").read_bytes() == before


def test_another_seed_changes_reference_truth_and_reads(small_demo, small_params, tmp_path):
    other = tmp_path / "other"
    simulate(SimulationParams(outdir=other, **{**small_params, "seed": small_params["seed"] + 1}))
    first, second = _digests(small_demo), _digests(other)
    for name in ("reference/genome.fa", "truth/S1.vcf.gz", "reads/S1_L001_R1.fastq.gz", "strata/str.bed"):
        assert first[name] != second[name], name


def test_manifest_lists_every_file_with_its_parameters(small_demo, small_manifest, small_params):
    on_disk = {str(p.relative_to(small_demo)) for p in small_demo.rglob("*") if p.is_file()}
    assert set(small_manifest["files"]) == on_disk - {"manifest.json"}
    params = small_manifest["parameters"]
    assert params["seed"] == small_params["seed"]
    assert params["genome_size"] == small_params["genome_size"]
    assert params["samples"] == {"S1": 8.0, "S2": 4.0}
    assert "threads" not in params and "outdir" not in params
