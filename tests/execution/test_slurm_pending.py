"""Which pending reasons seqpipe's SLURM executor treats as hopeless. The local cluster enforces no
association or QOS limits (AccountingStorageEnforce=none) and accepts any node name, so those
reasons cannot be produced on it; they are judged here from the text SLURM 22.05 prints (captured
from the local cluster's ``scontrol`` and ``squeue`` with limits set on a probe QOS and account).
The PartitionConfig path runs on the cluster in test_slurm.py."""

from __future__ import annotations

import pytest

from seqpipe.execution.slurm_pending import (
    NEVER_CLEARS,
    PendingJob,
    association_chain,
    group_limit_exceeded,
    job_field,
    missing_nodes,
    parse_assoc_mgr,
    parse_squeue,
    parse_tres,
    why_never_starts,
)

ASSOC_MGR = """Current Association Manager state

Association Records

ClusterName=localcluster Account=root UserName= Partition= Priority=0 ID=1
    SharesRaw/Norm/Level/Factor=1/18446744073709551616.00/1/0.00
    ParentAccount= Lft=1 DefAssoc=No
    GrpJobs=N(0) GrpJobsAccrue=N(0)
    GrpTRES=cpu=N(0),mem=N(0),energy=N(0),node=N(0),billing=N(0),fs/disk=N(0),vmem=N(0),pages=N(0)
    MaxTRESPJ=
ClusterName=localcluster Account=testacct UserName= Partition= Priority=0 ID=3
    ParentAccount=root(1) Lft=2 DefAssoc=No
    GrpTRES=cpu=N(0),mem=N(0),energy=N(0),node=N(0),billing=N(0),fs/disk=N(0),vmem=N(0),pages=N(0)
ClusterName=localcluster Account=seqprobe UserName= Partition= Priority=0 ID=5
    ParentAccount=testacct(3) Lft=3 DefAssoc=No
    GrpTRES=cpu=1(0),mem=900(0),energy=N(0),node=N(0),billing=N(0),fs/disk=N(0),vmem=N(0),pages=N(0)
ClusterName=localcluster Account=seqprobe UserName=root(0) Partition= Priority=0 ID=6
    ParentAccount= Lft=4 DefAssoc=No
    GrpTRES=cpu=N(0),mem=N(0),energy=N(0),node=1(0),billing=N(0),fs/disk=N(0),vmem=N(0),pages=N(0)
Current Association Manager state

QOS Records

QOS=seqprobe(2)
    UsageRaw=0.000000
    GrpJobs=N(0) GrpJobsAccrue=N(0) GrpSubmitJobs=N(0) GrpWall=N(0.00)
    GrpTRES=cpu=3(0),mem=5000(0),energy=N(0),node=N(0),billing=N(0),fs/disk=N(0),vmem=N(0),pages=N(0)
    MaxTRESPJ=cpu=1
"""
JOB = (
    "JobId=15 JobName=probe UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901747 Nice=0 "
    "Account=seqprobe QOS=seqprobe JobState=PENDING Reason=AssocGrpCpuLimit Dependency=(null) "
    "Partition=debug AllocNode:Sid=localhost:18750 ReqNodeList=(null) ExcNodeList=(null) NodeList= "
    "NumNodes=1 NumCPUs=4 NumTasks=1 CPUs/Task=4 TRES=cpu=4,mem=3000M,node=1,billing=4 "
    "WorkDir=/tmp/a dir with spaces StdOut=/tmp/slurm-15.out"
)


@pytest.mark.parametrize("reason", sorted(NEVER_CLEARS))
def test_reasons_only_an_administrator_can_clear_are_hopeless(reason: str) -> None:
    assert why_never_starts(PendingJob("1", reason)) == NEVER_CLEARS[reason]


@pytest.mark.parametrize(
    "reason",
    [
        "QOSMaxCpuPerJobLimit",
        "QOSMaxMemoryPerJob",
        "QOSMaxNodePerJobLimit",
        "QOSMaxWallDurationPerJobLimit",
        "QOSMaxCpuMinutesPerJobLimit",
        "AssocMaxCpuPerJobLimit",
        "AssocMaxWallDurationPerJobLimit",
        "QOSMaxCpuPerNode",
        "QOSMinCpuNotSatisfied",
    ],
)
def test_per_job_limits_are_hopeless(reason: str) -> None:
    assert why_never_starts(PendingJob("1", reason)) is not None


@pytest.mark.parametrize(
    "reason",
    [
        "Resources",
        "Priority",
        "BeginTime",
        "Dependency",
        "JobHeldUser",
        "PartitionDown",
        "QOSMaxCpuPerUserLimit",  # clears when the user's other jobs end
        "QOSMaxJobsPerUserLimit",
        "AssocMaxJobsLimit",
        "AssocGrpJobsLimit",
        "AssocGrpCPUMinutesLimit",  # decays with time
        "None",
    ],
)
def test_reasons_that_clear_by_waiting_keep_the_job(reason: str) -> None:
    assert why_never_starts(PendingJob("1", reason)) is None


def test_squeue_lines_keep_reasons_with_commas() -> None:
    jobs = parse_squeue("20|PartitionConfig\n21|ReqNodeNotAvail, UnavailableNodes:n[1-2]\n")
    assert jobs == [
        PendingJob("20", "PartitionConfig"),
        PendingJob("21", "ReqNodeNotAvail, UnavailableNodes:n[1-2]"),
    ]
    assert jobs[1].reason_name == "ReqNodeNotAvail"


def test_tres_of_a_job_and_of_a_limit_in_mb() -> None:
    assert parse_tres("cpu=4,mem=3000M,node=1,billing=4") == {"cpu": 4, "mem": 3000, "node": 1, "billing": 4}
    assert parse_tres("cpu=2,mem=1.5G,node=1") == {"cpu": 2, "mem": 1536, "node": 1}
    assert parse_tres("cpu=1(0),mem=900(0),energy=N(0),fs/disk=N(0)") == {"cpu": 1, "mem": 900}


def test_job_fields_of_scontrol_one_liner() -> None:
    assert job_field(JOB, "Account") == "seqprobe"
    assert job_field(JOB, "UserId") == "root(0)"
    assert job_field(JOB, "ReqNodeList") == ""
    assert job_field(JOB, "TRES") == "cpu=4,mem=3000M,node=1,billing=4"


def test_association_chain_runs_from_the_user_to_root() -> None:
    records = parse_assoc_mgr(ASSOC_MGR)
    chain = association_chain(records, "seqprobe", "root", "debug")
    assert [(r.name, r.user) for r in chain] == [
        ("seqprobe", "root"),
        ("seqprobe", ""),
        ("testacct", ""),
        ("root", ""),
    ]
    assert chain[0].grp_tres == {"node": 1}
    assert chain[1].grp_tres == {"cpu": 1, "mem": 900}


def test_group_limit_the_job_alone_exceeds_is_hopeless() -> None:
    records = parse_assoc_mgr(ASSOC_MGR)
    chain = association_chain(records, "seqprobe", "root", "debug")
    qos = next(r for r in records if r.kind == "qos")
    request = parse_tres(job_field(JOB, "TRES"))
    assert group_limit_exceeded("AssocGrpCpuLimit", request, chain, qos) == (
        "it asks for cpu=4, more than the GrpTRES limit cpu=1 of assoc seqprobe"
    )
    assert "mem=3000" in group_limit_exceeded("AssocGrpMemLimit", request, chain, qos)
    assert "cpu=4, more than the GrpTRES limit cpu=3 of qos seqprobe" in group_limit_exceeded(
        "QOSGrpCpuLimit", request, chain, qos
    )


def test_group_limit_the_job_fits_under_clears_by_waiting() -> None:
    records = parse_assoc_mgr(ASSOC_MGR)
    chain = association_chain(records, "seqprobe", "root", "debug")
    qos = next(r for r in records if r.kind == "qos")
    small = {"cpu": 1, "mem": 500, "node": 1}
    for reason in (
        "AssocGrpCpuLimit",
        "AssocGrpMemLimit",
        "AssocGrpNodeLimit",
        "QOSGrpCpuLimit",
        "QOSGrpMemLimit",
    ):
        assert group_limit_exceeded(reason, small, chain, qos) is None, reason
    # no limit set on that TRES anywhere in the chain
    assert group_limit_exceeded("AssocGrpBilling", {"billing": 10**6}, chain, qos) is None


def test_requested_nodes_the_cluster_lacks() -> None:
    assert missing_nodes(["node1", "node9"], {"node1", "node2"}) == ["node9"]
    assert missing_nodes(["node1"], {"node1", "node2"}) == []
