"""`seqpipe status` and `seqpipe qc` through the real entry point against the local AWS endpoint."""

from __future__ import annotations

import pytest

PEOPLE_COMMANDS = ("upload", "run", "status", "qc", "deliver", "erase", "dashboard", "dashboard serve",
                   "dashboard token")  # fmt: skip


@pytest.mark.parametrize("command", PEOPLE_COMMANDS)
def test_every_command_explains_itself_with_help(seqpipe, command):
    result = seqpipe(*command.split(), "--help")
    assert result.returncode == 0 and "Usage: seqpipe" in result.stdout


def test_status_lists_runs_newest_first(seqpipe, demo):
    result = seqpipe("status", "--json")
    assert result.returncode == 0, result.stderr
    assert [r["run_id"] for r in result.json()] == [
        "RUN_0005",
        "RUN_0004",
        "RUN_0003",
        "RUN_0002",
        "RUN_0001",
    ]
    text = seqpipe("status", "--limit", "2")
    assert text.returncode == 0 and text.stdout.splitlines()[0].split()[:3] == ["RUN", "PROJECT", "STATUS"]
    assert len(text.stdout.splitlines()) == 3


def test_status_filters_runs_by_status(seqpipe, demo):
    result = seqpipe("status", "--status", "failed", "--json")
    assert [r["run_id"] for r in result.json()] == ["RUN_0004"]


def test_status_of_a_run_shows_its_jobs(seqpipe, demo):
    result = seqpipe("status", "RUN_0002", "--json")
    assert result.returncode == 0
    data = result.json()
    assert data["run"]["status"] == "SUCCEEDED" and len(data["jobs"]) == 1 + 4 * 3


def test_status_of_a_run_lists_its_steps_by_rule_with_their_engine_jobs(seqpipe, demo):
    text = seqpipe("status", "--run", "RUN_0004")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].startswith("run RUN_0004  FAILED") and lines[1].startswith("error: States.TaskFailed")
    assert lines[2].split() == ["JOB", "STATUS", "ATTEMPT", "ENGINE", "EXIT", "STARTED", "DURATION"]
    rows = lines[3:]
    assert len(rows) == 1 + 4 * 3  # the run's own job and three steps per sample
    failed = [row for row in rows if " FAILED " in row and not row.startswith("run ")]
    assert len(failed) == 1 and failed[0].startswith("convert_to_cram sample=") and " aws-batch " in failed[0]
    steps = seqpipe("status", "RUN_0004", "--status", "FAILED", "--json").json()["jobs"]
    assert [(s["kind"], s["engine"], s["engine_exit_status"]) for s in steps] == [
        ("run", None, None),
        ("step", "aws-batch", 1),
    ]
    by_option = seqpipe("status", "--run", "RUN_0004", "--json").json()
    assert by_option == seqpipe("status", "RUN_0004", "--json").json()


def test_status_refuses_two_different_runs(seqpipe, demo):
    result = seqpipe("status", "RUN_0001", "--run", "RUN_0002")
    assert result.returncode == 2 and "two runs given" in result.stderr


def test_status_of_a_sample_shows_its_jobs_across_runs(seqpipe, demo):
    report = seqpipe("status", "--sample", "S00002", "--json").json()
    assert report["sample"]["status"] and report["sample"]["project"] == "DEMO"
    jobs = report["jobs"]
    assert {j["run_id"] for j in jobs} == {"RUN_0001", "RUN_0003", "RUN_0005"}
    created = [j["created_at"] for j in jobs]
    assert created == sorted(created, reverse=True)


def test_status_of_an_unknown_run_or_sample_exits_3(seqpipe, demo):
    result = seqpipe("status", "NOPE")
    assert result.returncode == 3 and "unknown run 'NOPE'" in result.stderr
    assert seqpipe("status", "--sample", "NOPE").returncode == 3


def test_qc_exit_code_is_0_when_every_sample_passes_else_1(seqpipe, demo):
    outcomes = set()
    for run in ("RUN_0001", "RUN_0002", "RUN_0003"):
        entries = seqpipe("qc", run, "--json").json()
        result = seqpipe("qc", run)
        lines = result.stdout.splitlines()
        assert lines[0].split()[:4] == ["SAMPLE", "RUN", "VERDICT", "MEAN_DEPTH"] and len(lines) == 1 + 4
        all_pass = all(e["verdict"] == "PASS" for e in entries)
        assert result.returncode == (0 if all_pass else 1)
        outcomes.add(all_pass)
        passing = next(e["sample"] for e in entries if e["verdict"] == "PASS")
        assert seqpipe("qc", "--sample", passing, "--json").returncode in {0, 1}
    assert outcomes == {True, False}, "the demo content should hold a passing and a failing run"


def test_qc_with_a_failing_sample_exits_1_and_gives_the_reason(seqpipe, demo):
    failing = seqpipe("qc", "--project", "DEMO", "--json")
    assert failing.returncode == 1
    entries = failing.json()
    assert entries and all(e["verdict"] == "FAIL" for e in entries)
    run = entries[0]["run_id"]
    text = seqpipe("qc", run)
    assert text.returncode == 1 and "FAIL" in text.stdout
    reason = next(c["reason"] for c in entries[0]["checks"] if c["verdict"] == "FAIL")
    assert reason in text.stdout


def test_qc_of_a_sample_across_runs(seqpipe, demo):
    result = seqpipe("qc", "--sample", "S00002", "--json")
    assert [e["run_id"] for e in result.json()] == ["RUN_0001", "RUN_0003"]


def test_qc_needs_exactly_one_subject_and_knows_unknown_ones(seqpipe, demo):
    assert seqpipe("qc").returncode == 2
    result = seqpipe("qc", "NOPE")
    assert result.returncode == 3 and "unknown run 'NOPE'" in result.stderr


def test_a_missing_table_is_exit_5_with_a_hint(seqpipe, aws, monkeypatch):
    monkeypatch.setenv("JOBS_TABLE", "no-such-table")
    result = seqpipe("status")
    assert result.returncode == 5 and "JOBS_TABLE" in result.stderr and "Traceback" not in result.stderr
