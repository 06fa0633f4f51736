"""The three profiles load, size every rule the workflow has and only those, ask AWS Batch only for
resources it grants as asked (the aws-batch executor silently lowers memory outside its table), and
keep every SLURM job and group job within one node. The slurm profile reads the partition's nodes
with ``sinfo`` when it loads, so the tests that load it use the local cluster."""

from __future__ import annotations

import functools
import gzip
import itertools
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from engine_harness import load_profile
from snakemake.resources import GroupResources, Resource, Resources
from snakemake_executor_plugin_aws_batch.constant import VALID_RESOURCES_MAPPING

from seqpipe.execution import resources
from seqpipe.execution.batch import BatchResourceError, fit_memory
from seqpipe.execution.command import snakemake_argv
from seqpipe.simulate.bcl_run_folder import Cluster, SheetSample, index_pairs, write_run_folder

REPO = Path(__file__).resolve().parents[2]
PROFILES = ("local", pytest.param("slurm", marks=pytest.mark.slurm), "aws-batch")
RETRIES_MAX = 3  # attempts checked for every rule: the profiles allow at most 2 retries


@pytest.fixture
def profile(request: pytest.FixtureRequest):
    """Loads a profile; the slurm one on the local cluster, whose nodes it reads."""

    def load(name: str) -> dict:
        if name == "slurm":
            request.getfixturevalue("slurm_cluster")
        return load_profile(name)

    return load


def _sequencer_run(folder: Path) -> Path:
    """Two lanes of one sample, with one locs header stale as in trimmed test runs (the run is staged)."""
    ((i7, i5),) = index_pairs(1)
    read, qual = "ACGT" * 9, "I" * 36
    clusters = {
        lane: [Cluster(f"c{lane}.{n}", "S1", read, qual, read, qual, i7, i5) for n in range(4)]
        for lane in (1, 2)
    }
    write_run_folder(folder, clusters, [SheetSample("S1", i7, i5)])
    locs = sorted((folder / "Data" / "Intensities" / "L001").glob("*.locs"))[0]
    header = bytearray(locs.read_bytes())
    header[8:12] = (10_000).to_bytes(4, "little")  # the declared cluster count
    locs.write_bytes(bytes(header))
    return folder


def _listed_rules(workdir: Path, *options: str, **config: object) -> set[str]:
    configfile = workdir / "run.yaml"
    configfile.write_text(yaml.safe_dump(config))
    workflow = ["--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), "--list-rules", *options]
    argv = snakemake_argv("local", profiles=REPO / "profiles", configfile=configfile, extra=workflow)
    done = subprocess.run(
        [sys.executable, "-m", *argv], capture_output=True, text=True, cwd=workdir, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return set(done.stdout.split())


@pytest.fixture(scope="module")
def workflow_rules(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The rules Snakemake itself lists for two runs that together take every branch of the workflow:
    from a run folder (every demux rule, Picard), with a bare reference (the workflow indexes it) and samtools
    marking duplicates; and from FASTQ sheets, with an indexed reference, Picard marking duplicates, targets
    and amplicon mode; and two samples with an identity panel, locally and under S3 storage."""
    base = tmp_path_factory.mktemp("rules")
    bare, indexed = base / "bare.fa", base / "indexed.fa"
    for fasta in (bare, indexed):
        fasta.write_text(">chr1\n" + "ACGT" * 100 + "\n")
    Path(f"{indexed}.fai").write_text("chr1\t400\t6\t400\t401\n")
    bed = base / "targets.bed"  # targets and amplicon mode: their rules too
    bed.write_text("chr1\t10\t300\n")
    (base / "samples.tsv").write_text("sample\tgroup\nA\tfam1\n")
    (base / "units.tsv").write_text(f"sample\tunit\tfq1\tfq2\nA\tL1\t{base}/A_R1.fq.gz\t{base}/A_R2.fq.gz\n")
    (base / "pair.tsv").write_text("sample\tgroup\nA\tfam1\nB\tfam1\n")
    (base / "pair_units.tsv").write_text(
        "sample\tunit\tfq1\tfq2\n"
        + "".join(f"{s}\tL1\t{base}/{s}_R1.fq.gz\t{base}/{s}_R2.fq.gz\n" for s in ("A", "B"))
    )
    for sample, read in itertools.product(("A", "B"), ("R1", "R2")):
        with gzip.open(base / f"{sample}_{read}.fq.gz", "wb"):
            pass
    panel = base / "panel.vcf"
    panel.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t50\t.\tA\tG\t.\t.\t.\n"
    )
    subprocess.run(["bgzip", str(panel)], check=True)
    subprocess.run(["tabix", "-p", "vcf", f"{panel}.gz"], check=True)
    with_panel = dict(
        samples=str(base / "pair.tsv"),
        units=str(base / "pair_units.tsv"),
        reference={"fasta": str(indexed)},
        identity={"sites": f"{panel}.gz"},
        outdir="out",
    )
    panel_rules = _listed_rules(base, **with_panel) | _listed_rules(
        base, "--default-storage-provider", "s3", "--default-storage-prefix", "s3://bucket/run", **with_panel
    )
    run = _sequencer_run(base / "260101_SIM001_0001_AFLOWCELLX")
    from_sequencer = _listed_rules(
        base,
        run_folder=str(run),
        demux={"demultiplexer": "picard", "trust_filter_cluster_count": True},
        reference={"fasta": str(bare)},
        duplicates={"tool": "samtools"},
        outdir="out",
    )
    from_fastq = _listed_rules(
        base,
        samples=str(base / "samples.tsv"),
        units=str(base / "units.tsv"),
        reference={"fasta": str(indexed)},
        duplicates={"tool": "picard"},
        targets={"bed": str(bed)},
        amplicon={"primers": str(bed)},
        outdir="out",
    )
    return from_sequencer | from_fastq | panel_rules


def _entry(rule: str) -> str:
    """The table entry that sizes a workflow rule (rules generated per lane share one)."""
    family, _, lane = rule.rpartition("_")
    return family if family in resources.PER_LANE and lane.isdigit() else rule


def _profile_name(entry: str) -> str:
    """A name the profiles give the entry's sizes (lane 1's for a per-lane entry)."""
    return f"{entry}_1" if entry in resources.PER_LANE else entry


@pytest.mark.parametrize("name", PROFILES)
def test_profile_loads_with_retries_and_without_mtime_trigger(name: str, profile) -> None:
    loaded = profile(name)
    assert loaded["retries"] >= 1
    assert "mtime" not in loaded["rerun-triggers"]
    assert set(loaded["rerun-triggers"]) == {"code", "input", "params", "software-env"}


@pytest.mark.slurm
def test_slurm_profile_selects_seqpipe_executor_and_site_settings(profile) -> None:
    slurm = profile("slurm")
    assert slurm["executor"] == "seqpipe-slurm"
    assert {"slurm_partition", "slurm_account"} <= set(slurm["default-resources"])
    # the plugin's settings are the executor's: a `slurm-` key would be silently ignored
    assert not [key for key in slurm if key.startswith("slurm-")]


def test_batch_profile_selects_its_engine_and_site_settings() -> None:
    batch = load_profile("aws-batch")
    assert batch["executor"] == "aws-batch"
    assert batch["default-storage-provider"] == "s3"
    assert batch["aws-batch-task-timeout"] > 300, "the plugin's 300 s default kills real jobs"
    for key in ("aws-batch-job-queue", "aws-batch-job-role", "container-image", "aws-batch-region"):
        assert batch[key]
    assert not any("key" in k.lower() and "storage" in k for k in batch), "no storage keys in the profile"


def test_the_rule_list_covers_every_kind_of_rule(workflow_rules: set[str]) -> None:
    demux = {"demux_stage_run_folder", "demux_convert_lane", "demux_qc"}
    assert {*demux, "demux_collect_lane_1", "demux_collect_lane_2"} <= workflow_rules
    assert {
        "index_aligner",
        "link_reference_indices",
        "mark_duplicates",
        "mark_duplicates_picard",
    } <= workflow_rules


def test_profiles_name_only_rules_the_workflow_has(workflow_rules: set[str]) -> None:
    known = {_entry(rule) for rule in workflow_rules}
    named = set(resources.RULES)
    assert named - known == set(), f"resource table names rules the workflow lacks: {sorted(named - known)}"


@pytest.mark.parametrize("name", PROFILES)
def test_every_rule_has_resources_in_the_table(name: str, workflow_rules: set[str], profile) -> None:
    """A new rule must get cluster/Batch sizes consciously, not fall back to the defaults."""
    assert workflow_rules - set(profile(name)["set-resources"]) - {"all"} == set()


def _threads_on_batch(rule: str) -> int:
    return load_profile("aws-batch")["set-threads"].get(rule, 1)


@pytest.mark.parametrize("entry", sorted(resources.RULES))
def test_batch_requests_are_exact_table_pairs_on_every_attempt(entry: str) -> None:
    rule = _profile_name(entry)
    expr = load_profile("aws-batch")["set-resources"][rule]["mem_mb"]
    threads = _threads_on_batch(rule)
    for attempt in range(1, RETRIES_MAX + 1):
        mem = eval(expr, {"threads": threads, "attempt": attempt})
        assert threads in VALID_RESOURCES_MAPPING.get(mem, []), (rule, attempt, threads, mem)
        raw = eval(resources.RULES[entry].mem_mb, {"threads": threads, "attempt": attempt})
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


SMALL_NODE = (2, 6000)  # CPUs, MB: smaller than the 16 threads and 8-16 GB the table asks for


def _slurm_sizes(rule: str, attempt: int) -> dict[str, int]:
    """What the slurm profile's sizes give ``rule`` on SMALL_NODE (threads the rule's own when the
    table leaves them: 1 here, the most jobs side by side)."""
    cpus, mem = SMALL_NODE
    threads = resources.set_threads(cpus).get(rule, 1)
    values = resources.set_resources("slurm", mem_cap_mb=mem, cores=cpus)[rule]
    scope = {"threads": threads, "attempt": attempt}
    return {
        "_cores": threads,
        "mem_mb": eval(str(values["mem_mb"]), scope),
        "runtime": eval(str(values["runtime"]), scope),
    }


@pytest.mark.parametrize("attempt", range(1, RETRIES_MAX + 1))
def test_slurm_jobs_and_group_jobs_fit_a_node_smaller_than_the_table(attempt: int) -> None:
    """Every job fits one node, and so does every group job as Snakemake sizes it: it sums the
    members it runs side by side (layered to fit the profile's cores) and takes the widest layer.
    The worst case puts all members of a group (each BAM-QC component) in one layer of the DAG."""
    cpus, mem = SMALL_NODE
    rules = {_profile_name(entry): r for entry, r in resources.RULES.items()}
    for rule in rules:
        sizes = _slurm_sizes(rule, attempt)
        assert sizes["_cores"] <= cpus and sizes["mem_mb"] <= mem, (rule, sizes)
    constraints = Resources({"_cores": Resource("_cores", cpus)})
    for group in set(resources.groups().values()):
        copies = resources.GROUP_COMPONENTS.get(group, 1)
        members = [
            SimpleNamespace(resources=_slurm_sizes(rule, attempt), pipe_group=None)
            for rule, r in rules.items()
            if r.group == group
            for _ in range(copies)
        ]
        job = GroupResources.basic_layered([members], constraints, run_local=False)
        assert job["_cores"] <= cpus and job["mem_mb"] <= mem, (group, attempt, job)


@functools.cache
def _batch_member(rule: str, attempt: int) -> SimpleNamespace:
    """A Snakemake job of ``rule`` as the aws-batch profile sizes it (what group sizing reads)."""
    profile = _batch_profile()
    threads = profile["set-threads"].get(rule, 1)
    scope = {"threads": threads, "attempt": attempt}
    mem = eval(str(profile["set-resources"][rule]["mem_mb"]), scope)
    return SimpleNamespace(resources={"_cores": threads, "mem_mb": mem, "runtime": 1}, pipe_group=None)


@functools.cache
def _batch_profile() -> dict:
    return load_profile("aws-batch")


def _levels(
    duplicates: str, units: int, reused_index: bool, slicing: str = "slice_calling_reads"
) -> dict[str, list[list[str]]]:
    """Each Batch group's jobs by DAG level (jobs of one level may run side by side); `slicing` is the
    calling chunk's slice rule (slice_sample_reads: a sample's, genotyped at an identity panel)."""
    picard = [["merge_units"], ["mark_duplicates_picard"]]
    marking = [["mark_duplicates"]] if duplicates == "samtools" else picard
    link = ["link_reference", *(["link_reference_indices"] if reused_index else []), "prepare_identity_sites"]
    index = ["index_reference", "create_sequence_dictionary", *([] if reused_index else ["index_aligner"])]
    return {
        resources.ALIGNMENT_GROUP: [
            ["run_fastqc", "map_reads"] * units,
            *marking,
            ["compute_alignment_stats", "compute_coverage", "checksum_sample", "genotype_x_sites"],
            ["infer_sex"],
        ],
        "reference": [link, index, ["split_reference", "checksum_reference"]],
        resources.CALLING_GROUP: [[slicing], ["call_bcftools", "call_freebayes"]],
    }


@pytest.mark.parametrize("duplicates", ["samtools", "picard"])
@pytest.mark.parametrize("attempt", range(1, RETRIES_MAX + 1))
def test_batch_group_jobs_ask_for_a_valid_pair(duplicates: str, attempt: int) -> None:
    """A Batch group job asks for what Snakemake sums over the members it runs side by side (layered
    within the profile's cores), the widest layer winning: that must be a (vCPU, memory) pair AWS Batch
    grants as asked for a sample of 1 to 8 units, a reference with or without the user's aligner index,
    a calling chunk (its slice, a sample's genotyped at an identity panel or not, then its single-threaded
    callers side by side, each at its own size),
    and for any part of a group a rerun may need (every subset of its rules)."""
    profile = _batch_profile()
    assert set(profile["groups"].values()) == {
        resources.ALIGNMENT_GROUP,
        "reference",
        resources.CALLING_GROUP,
    }
    constraints = Resources({"_cores": Resource("_cores", profile["cores"])})
    for units, reused_index, slicing in itertools.product(
        range(1, 9), (False, True), ("slice_calling_reads", "slice_sample_reads")
    ):
        for group, levels in _levels(duplicates, units, reused_index, slicing).items():
            members = {rule for level in levels for rule in level}
            assert members <= {rule for rule, name in profile["groups"].items() if name == group}
            for size in range(1, len(members) + 1):
                for needed in itertools.combinations(sorted(members), size):
                    toposorted = [
                        [_batch_member(rule, attempt) for rule in level if rule in needed] for level in levels
                    ]
                    job = GroupResources.basic_layered([*filter(None, toposorted)], constraints, False)
                    pair = (job["_cores"], job["mem_mb"])
                    valid = VALID_RESOURCES_MAPPING.get(pair[1], [])
                    assert pair[0] in valid, (group, units, needed, pair)


@pytest.mark.parametrize("attempt", range(1, RETRIES_MAX + 1))
def test_a_calling_chunk_asks_for_its_two_single_threaded_callers_not_for_a_packed_group(
    attempt: int,
) -> None:
    """A chunk's job runs its slice, then bcftools and FreeBayes side by side: 2 vCPUs, not 16."""
    profile = _batch_profile()
    constraints = Resources({"_cores": Resource("_cores", profile["cores"])})
    levels = [
        [_batch_member(rule, attempt) for rule in level]
        for level in _levels("samtools", 1, False)[resources.CALLING_GROUP]
    ]
    job = GroupResources.basic_layered(levels, constraints, False)
    assert job["_cores"] == 2 and job["mem_mb"] <= 16384, job


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
