"""The three profiles load, name only rules the workflow has, and ask AWS Batch only for resources it
grants as asked (the aws-batch executor silently lowers memory outside its table)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yte
from snakemake_executor_plugin_aws_batch.constant import VALID_RESOURCES_MAPPING

from seqpipe.execution import resources
from seqpipe.execution.batch import BatchResourceError, fit_memory
from seqpipe.execution.command import snakemake_argv

REPO = Path(__file__).resolve().parents[2]
PROFILES = ("local", "slurm", "aws-batch")
RETRIES_MAX = 3  # attempts checked for every rule: the profiles allow at most 2 retries


def load_profile(name: str) -> dict:
    with (REPO / "profiles" / name / "config.yaml").open() as fh:
        return yte.process_yaml(fh, require_use_yte=True)


def workflow_rules() -> set[str]:
    sources = [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]
    pattern = re.compile(r"^\s*(?:rule|checkpoint)\s+(\w+)\s*:", re.MULTILINE)
    return {name for path in sources for name in pattern.findall(path.read_text())}


@pytest.mark.parametrize("name", PROFILES)
def test_profile_loads_with_retries_and_without_mtime_trigger(name: str) -> None:
    profile = load_profile(name)
    assert profile["retries"] >= 1
    assert "mtime" not in profile["rerun-triggers"]
    assert set(profile["rerun-triggers"]) == {"code", "input", "params", "software-env"}


def test_profiles_select_their_engine_and_site_settings() -> None:
    slurm, batch = load_profile("slurm"), load_profile("aws-batch")
    assert slurm["executor"] == "slurm"
    assert {"slurm_partition", "slurm_account"} <= set(slurm["default-resources"])
    assert batch["executor"] == "aws-batch"
    assert batch["default-storage-provider"] == "s3"
    assert batch["aws-batch-task-timeout"] > 300, "the plugin's 300 s default kills real jobs"
    for key in ("aws-batch-job-queue", "aws-batch-job-role", "container-image", "aws-batch-region"):
        assert batch[key]
    assert not any("key" in k.lower() and "storage" in k for k in batch), "no storage keys in the profile"


def test_profiles_name_only_rules_the_workflow_has() -> None:
    known = workflow_rules()
    named = set(resources.RULES)
    assert named - known == set(), f"resource table names rules the workflow lacks: {sorted(named - known)}"


def test_every_rule_has_resources_in_the_table() -> None:
    """A new rule must get cluster/Batch sizes consciously, not fall back to the defaults."""
    assert workflow_rules() - set(resources.RULES) - {"all"} == set()


def _threads_on_batch(rule: str) -> int:
    return load_profile("aws-batch")["set-threads"].get(rule, 1)


@pytest.mark.parametrize("rule", sorted(resources.RULES))
def test_batch_requests_are_exact_table_pairs_on_every_attempt(rule: str) -> None:
    expr = load_profile("aws-batch")["set-resources"][rule]["mem_mb"]
    threads = _threads_on_batch(rule)
    for attempt in range(1, RETRIES_MAX + 1):
        mem = eval(expr, {"threads": threads, "attempt": attempt})
        assert threads in VALID_RESOURCES_MAPPING.get(mem, []), (rule, attempt, threads, mem)
        raw = eval(resources.RULES[rule].mem_mb, {"threads": threads, "attempt": attempt})
        assert mem >= raw, f"{rule}: Batch would get {mem} MiB for {raw} MiB asked"


def test_fit_memory_rounds_up_never_down() -> None:
    assert fit_memory(1, 1000) == 2048
    assert fit_memory(4, 16000) == 16384  # the plugin itself would give 8192
    assert fit_memory(8, 60000) == 61440
    assert fit_memory(2, 5000) == 5120
    assert fit_memory(16, 100000) == 106496


def test_fit_memory_fails_loudly_when_nothing_fits() -> None:
    with pytest.raises(BatchResourceError, match="exceeds the largest AWS Batch memory for 1 vCPUs"):
        fit_memory(1, 9000)
    with pytest.raises(BatchResourceError, match="61440 MiB"):
        fit_memory(8, 64000)
    with pytest.raises(BatchResourceError, match="no memory setting for 3 vCPUs"):
        fit_memory(3, 4096)


def test_local_profile_caps_memory_at_this_machine() -> None:
    profile = load_profile("local")
    cap = profile["resources"]["mem_mb"]
    for rule, values in profile["set-resources"].items():
        mem = eval(str(values["mem_mb"]), {"threads": 64, "attempt": RETRIES_MAX})
        assert mem <= cap, rule


def test_engine_command_lines() -> None:
    assert snakemake_argv("local", profiles="p", configfile="run.yaml") == [
        "snakemake",
        "--profile",
        "p/local",
        "--configfile",
        "run.yaml",
    ]
    s3 = snakemake_argv("s3", profiles="p", storage_prefix="s3://b/runs/r1/")
    assert s3[-4:] == ["--default-storage-provider", "s3", "--default-storage-prefix", "s3://b/runs/r1"]
    assert snakemake_argv("aws-batch", profiles="p", storage_prefix="s3://b/x")[2] == "p/aws-batch"
    with pytest.raises(ValueError, match="needs storage_prefix"):
        snakemake_argv("aws-batch")
    with pytest.raises(ValueError, match="storage_prefix is not allowed"):
        snakemake_argv("slurm", storage_prefix="s3://b/x")
    with pytest.raises(ValueError, match="unknown engine"):
        snakemake_argv("kubernetes")
