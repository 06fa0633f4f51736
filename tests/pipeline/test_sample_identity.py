"""Sample identity QC on simulated scenarios: contamination estimates against the mixed-in truth, a
sample sequenced twice flagged as the same person, unrelated samples and declared relatives not. Every
scenario runs twice: at the run's own variant sites, and at a fixed panel (identity.sites), the
scenario's known sites (most of its samples' sites and population SNPs none of them carries)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml

from seqpipe.identity.allele_depths import read_allele_depths
from seqpipe.identity.checks import compare_pairs, identity_verdicts
from seqpipe.qc.verdicts import FAIL, PASS, read_verdicts
from seqpipe.sheets import SheetError, load_sheets
from seqpipe.simulate import SimulationParams, TruthRates
from seqpipe.simulate.scenarios import simulate_scenario

from .conftest import REPO, PipelineRun, run_from_copy, run_workflow

IDENTITY_SETTINGS = {"duplicate_max_discordance": 0.1, "related_max_discordance": 0.5, "min_sites": 50}
SITES = ["own-sites", "panel"]


def _run_scenario(tmp: Path, name: str, depth: float, seed: int) -> PipelineRun:
    """The scenario at the run's own sites."""
    data = tmp / "data"
    simulate_scenario(
        name,
        # 2 SNVs/kb: ~70 sites per sample where the donor carries the other allele, enough to tell
        # 10 % from 8.5 % (the estimate's binomial spread is ~0.5 points there)
        SimulationParams(
            outdir=data,
            seed=seed,
            genome_size=150_000,
            samples=(("S", depth),),
            lowmap=False,
            rates=TruthRates(snv_per_kb=2.0),
        ),
    )
    return run_workflow(tmp, data, calling={"callers": ["bcftools"], "scatter": 1}, identity={})


def _at_sites(own_sites: PipelineRun, sites: str, tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    """The scenario's run at `sites`: at the panel, its CRAMs and calls are the own-sites run's (a copy
    without the identity QC), and only the identity QC and the QC summary and reports that read it run."""
    if sites == "own-sites":
        return own_sites
    panel = own_sites.data / "known_sites" / "known_sites.vcf.gz"
    base = tmp_path_factory.mktemp("panel")
    run = run_from_copy(
        own_sites,
        base,
        leave_out=("qc/identity",),
        forcerun=("summarize_qc",),
        identity={"sites": str(panel)},
    )
    printed = run.result.stdout + run.result.stderr
    assert "rule gather_identity_panel:" in printed and "rule summarize_qc:" in printed  # no stale QC
    return run


@pytest.fixture(scope="module")
def contaminated_own_sites(tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    """X0, X2, X5, X10 with 0/2/5/10 % of donor D's reads, and D itself, at 30x."""
    return _run_scenario(tmp_path_factory.mktemp("contamination"), "contamination", 30, 3)


@pytest.fixture(scope="module", params=SITES)
def contaminated(
    request: pytest.FixtureRequest,
    contaminated_own_sites: PipelineRun,
    tmp_path_factory: pytest.TempPathFactory,
) -> PipelineRun:
    return _at_sites(contaminated_own_sites, request.param, tmp_path_factory)


@pytest.fixture(scope="module")
def duplicated_own_sites(tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    """P1 sequenced twice (P1, P1b), P2 and P3 unrelated, at 25x."""
    return _run_scenario(tmp_path_factory.mktemp("identity"), "identity", 25, 4)


@pytest.fixture(scope="module", params=SITES)
def duplicated(
    request: pytest.FixtureRequest,
    duplicated_own_sites: PipelineRun,
    tmp_path_factory: pytest.TempPathFactory,
) -> PipelineRun:
    return _at_sites(duplicated_own_sites, request.param, tmp_path_factory)


def _checks(run: PipelineRun, metric: str) -> dict[str, object]:
    return {v.sample: v for v in read_verdicts(run.path("qc/qc_summary.tsv")) if v.metric == metric}


def test_contamination_estimates_lie_within_1_5_points_of_the_mixed_in_share(contaminated: PipelineRun):
    truth = json.loads((contaminated.data / "manifest.json").read_text())["summary"]["scenario"]
    checks = _checks(contaminated, "contamination_pct")
    estimates = {sample: checks[sample].value for sample in truth["contamination"]}
    for sample, share in truth["contamination"].items():
        assert abs(estimates[sample] - 100 * share) <= 1.5, estimates
    assert checks["D"].value <= 1.5  # the donor is clean


def test_contaminated_samples_fail_naming_the_source_and_clean_ones_pass(contaminated: PipelineRun):
    checks = _checks(contaminated, "contamination_pct")  # identity.max_contamination_pct: 3
    assert {s for s, c in checks.items() if c.verdict == FAIL} == {"X5", "X10"}
    assert "most like D's" in checks["X10"].reason
    summary = json.loads(contaminated.path("qc/qc_summary.json").read_text())
    assert summary["samples"]["X10"]["verdict"] == FAIL and summary["samples"]["X0"]["verdict"] == PASS
    multiqc = contaminated.path("qc/qc_summary_mqc.tsv").read_text()
    assert "contamination_pct" in multiqc and "identity_discordance" in multiqc


def test_contaminated_but_unrelated_samples_are_not_flagged_as_the_same_person(contaminated: PipelineRun):
    checks = _checks(contaminated, "identity_discordance")
    assert set(checks) == {"X0", "X2", "X5", "X10", "D"}
    assert all(c.verdict == PASS for c in checks.values()), checks


def test_a_sample_sequenced_twice_fails_as_the_same_person_and_unrelated_ones_pass(duplicated: PipelineRun):
    checks = _checks(duplicated, "identity_discordance")
    assert checks["P1"].verdict == checks["P1b"].verdict == FAIL
    assert "same person as P1b" in checks["P1"].reason and "same person as P1" in checks["P1b"].reason
    assert checks["P1"].value < 0.05
    assert checks["P2"].verdict == checks["P3"].verdict == PASS
    assert checks["P2"].value > 0.5 and checks["P3"].value > 0.5
    # the same person twice is no contaminant of itself: none of these samples has foreign DNA
    contamination = _checks(duplicated, "contamination_pct")
    assert all(c.value < 1.5 and c.verdict == PASS for c in contamination.values()), contamination


def test_identity_sites_are_the_panels_when_one_is_set_else_the_runs_own(duplicated: PipelineRun):
    panel = yaml.safe_load(duplicated.config.read_text())["identity"].get("sites")
    if panel is None:
        assert duplicated.path("qc/identity/sites.tsv.gz").exists()
        return
    with gzip.open(panel, "rt") as fh:
        records = [line.split("\t") for line in fh if not line.startswith("#")]
    # its biallelic SNPs: the panel's indels are left out
    listed = {(r[0], r[1]) for r in records if len(r[3]) == len(r[4]) == 1}
    with gzip.open(duplicated.path("qc/identity/allele_depths.tsv.gz"), "rt") as fh:
        genotyped = [tuple(line.split("\t")[:2]) for line in fh.read().splitlines()[1:]]
    assert len(genotyped) > 0.9 * len(listed) and set(genotyped) <= listed
    assert not duplicated.path("qc/identity/sites.tsv.gz").exists()


def test_a_pair_the_sheet_declares_related_is_not_flagged(duplicated: PipelineRun):
    pairs = compare_pairs(*read_allele_depths(duplicated.path("qc/identity/allele_depths.tsv.gz")))
    verdicts = identity_verdicts(["P1", "P1b", "P2", "P3"], pairs, {"P1b": ["P1"]}, IDENTITY_SETTINGS)
    assert all(v.verdict == PASS for v in verdicts), verdicts


def test_relatives_must_name_other_samples_of_the_sheet(tmp_path: Path):
    (tmp_path / "samples.tsv").write_text("sample\trelatives\nS1\tS2\nS2\tS9\n")
    (tmp_path / "units.tsv").write_text("sample\tunit\tfq1\tfq2\nS1\tL1\ta\tb\nS2\tL1\tc\td\n")
    with pytest.raises(SheetError) as refused:
        load_sheets(
            tmp_path / "samples.tsv", tmp_path / "units.tsv", REPO / "config" / "schemas", check_files=False
        )
    assert refused.value.problems == [
        f"{tmp_path / 'samples.tsv'} line 3, field 'relatives': 'S9' is not another sample of "
        f"{tmp_path / 'samples.tsv'}"
    ]
