"""Which pending SLURM jobs can never start, and why: the judgement behind seqpipe's SLURM executor.

snakemake-executor-plugin-slurm 2.8 treats every PENDING job as still running, so a job that SLURM
will never start (more CPUs than any node of its partition: reason ``PartitionConfig``) keeps the run
waiting until it is killed. A pending job is hopeless when its reason (``squeue``'s ``%r``) is:

* one that only an administrator can clear: a partition or per-job limit, an invalid account or QOS,
  features no node has (``NEVER_CLEARS`` and ``PER_JOB_LIMIT``);
* ``ReqNodeNotAvail`` while a node the job asks for is not a node of the cluster (a node that is
  down, drained or reserved may come back, so that job keeps waiting);
* an association or QOS *group* limit on CPUs, memory, nodes or billing (``AssocGrpCpuLimit``,
  ``QOSGrpMemLimit``, ...) that the job's own request exceeds, by the limits the controller
  enforces (``scontrol show assoc_mgr``); below the limit, other jobs finishing clears it.

Every other reason (``Resources``, ``Priority``, ``BeginTime``, ``ReqNodeNotAvail`` for a down
node, ``QOSMax*PerUser`` limits, held jobs, ...) clears by waiting, and the job keeps waiting.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

# reasons only an administrator can clear -> what they mean for the job
NEVER_CLEARS: dict[str, str] = {
    "PartitionConfig": "it asks for more CPUs, memory or nodes than any node of its partition has",
    "PartitionNodeLimit": "it asks for more nodes than its partition allows",
    "PartitionTimeLimit": "its time limit exceeds its partition's MaxTime",
    "BadConstraints": "no node has the features or resources it asks for",
    "InvalidAccount": "its account is not valid",
    "InvalidQOS": "its QOS is not valid",
    "DependencyNeverSatisfied": "a job it depends on failed",
    "MaxMemPerLimit": "its memory exceeds the partition's MaxMemPerCPU or MaxMemPerNode",
}
# a per-job or per-node limit of the association or QOS (QOSMaxCpuPerJobLimit, QOSMaxMemoryPerJob,
# AssocMaxWallDurationPerJobLimit, QOSMaxCpuPerNode, ...) or a QOS minimum (QOSMinCpuNotSatisfied)
PER_JOB_LIMIT = re.compile(r"^(Assoc|QOS)(Max\w*Per(Job|Node)|Min\w+)(Limit)?$")
# a group limit of the association tree or the QOS on one TRES (cpu, mem, node, billing)
GROUP_LIMIT = re.compile(r"^(?P<scope>Assoc|QOS)Grp(?P<tres>Cpu|Mem|Node|Billing)(Limit)?$")
_SIZE_MB = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024**2}  # assoc_mgr gives bare MB


@dataclass(frozen=True)
class PendingJob:
    job_id: str
    reason: str  # squeue's %r: "PartitionConfig", "ReqNodeNotAvail, UnavailableNodes:n[1-2]", ...

    @property
    def reason_name(self) -> str:
        return self.reason.split(",", 1)[0].strip()


def parse_squeue(text: str) -> list[PendingJob]:
    """Jobs from ``squeue --noheader --format '%i|%r'``."""
    return [PendingJob(*line.split("|", 1)) for line in text.splitlines() if "|" in line]


def parse_tres(text: str) -> dict[str, int]:
    """``cpu=4,mem=11000M,node=1`` (``scontrol show job``) or ``cpu=1(0),mem=N(0)`` (``assoc_mgr``,
    ``N``: no limit) -> {tres: value}, memory in MB."""
    tres = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)(\(\d+\))?", value)
        if match:
            number, unit = float(match.group(1)), match.group(2)
            tres[name] = int(number * _SIZE_MB[unit]) if name == "mem" else int(number)
    return tres


def job_field(scontrol_job: str, key: str) -> str:
    """One field of ``scontrol show job -o`` ("" when absent or ``(null)``)."""
    match = re.search(rf"(?:^|\s){re.escape(key)}=(\S*)", scontrol_job)
    value = match.group(1) if match else ""
    return "" if value == "(null)" else value


@dataclass(frozen=True)
class LimitRecord:
    """One association (account, or user within an account) or QOS of ``scontrol show assoc_mgr``."""

    kind: str  # "assoc" or "qos"
    name: str  # account name, or QOS name
    user: str  # "" for an account's own association and for a QOS
    partition: str
    parent: str  # parent account ("" for user associations, root and QOS)
    grp_tres: dict[str, int]


def parse_assoc_mgr(text: str) -> list[LimitRecord]:
    """Associations and QOS of ``scontrol show assoc_mgr flags=assoc,qos``, with their GrpTRES."""
    records: list[LimitRecord] = []
    for block in re.split(r"\n(?=ClusterName=|QOS=)", text):
        fields = dict(re.findall(r"(?:^|\s)([\w/]+)=(\S*)", block))
        bare = {key: re.sub(r"\(\d+\)$", "", value) for key, value in fields.items()}
        grp = parse_tres(fields.get("GrpTRES", ""))
        if block.startswith("ClusterName="):
            records.append(
                LimitRecord(
                    "assoc", bare["Account"], bare["UserName"], bare["Partition"], bare["ParentAccount"], grp
                )
            )
        elif block.startswith("QOS="):
            records.append(LimitRecord("qos", bare["QOS"], "", "", "", grp))
    return records


def association_chain(
    records: list[LimitRecord], account: str, user: str, partition: str
) -> list[LimitRecord]:
    """The job's association (user in account, the partition's own if there is one), then its
    account and the account's ancestors up to root: the group limits of each apply to the job."""
    assocs = [r for r in records if r.kind == "assoc"]
    mine = [r for r in assocs if r.name == account and r.user == user and r.partition in (partition, "")]
    chain = sorted(mine, key=lambda r: r.partition != partition)[:1]
    name = account
    while name:
        own = next((r for r in assocs if r.name == name and not r.user), None)
        if own is None:
            break
        chain.append(own)
        name = own.parent
    return chain


def group_limit_exceeded(
    reason_name: str, request: dict[str, int], chain: list[LimitRecord], qos: LimitRecord | None
) -> str | None:
    """Why a job pending for group limit ``reason_name`` can never start (None: it may)."""
    match = GROUP_LIMIT.match(reason_name)
    if match is None:
        return None
    tres = match["tres"].lower()
    holders = chain if match["scope"] == "Assoc" else [qos] if qos is not None else []
    for record in holders:
        limit = record.grp_tres.get(tres)
        if limit is not None and request.get(tres, 0) > limit:
            who = (
                f"user {record.user} in account {record.name}"
                if record.user
                else f"{record.kind} {record.name}"
            )
            return f"it asks for {tres}={request[tres]}, more than the GrpTRES limit {tres}={limit} of {who}"
    return None


def missing_nodes(requested: list[str], existing: set[str]) -> list[str]:
    return [node for node in requested if node not in existing]


def _run(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout


def pending_jobs(run_name: str) -> list[PendingJob]:
    """The pending jobs named ``run_name`` (the plugin's run UUID), one line per array task."""
    fmt = "%i|%r"
    return parse_squeue(
        _run(["squeue", "--noheader", "--array", "--states=PENDING", "--name", run_name, "--format", fmt])
    )


def why_never_starts(job: PendingJob) -> str | None:
    """Why ``job`` can never start, or None while its reason may still clear. Reads the job, the
    cluster's nodes and the enforced limits only for the reasons that need them."""
    name = job.reason_name
    if name in NEVER_CLEARS:
        return NEVER_CLEARS[name]
    if PER_JOB_LIMIT.match(name):
        return "it exceeds a per-job or per-node limit of its association or QOS"
    if name != "ReqNodeNotAvail" and not GROUP_LIMIT.match(name):
        return None
    details = _run(["scontrol", "--oneliner", "show", "job", job.job_id])
    if name == "ReqNodeNotAvail":
        wanted = job_field(details, "ReqNodeList")
        if not wanted:
            return None
        requested = _run(["scontrol", "show", "hostnames", wanted]).split()
        existing = set(_run(["sinfo", "--noheader", "--Node", "--format", "%N"]).split())
        absent = missing_nodes(requested, existing)
        return f"it asks for node(s) {', '.join(absent)} that the cluster does not have" if absent else None
    records = parse_assoc_mgr(_run(["scontrol", "show", "assoc_mgr", "flags=assoc,qos"]))
    user = re.sub(r"\(\d+\)$", "", job_field(details, "UserId"))
    chain = association_chain(records, job_field(details, "Account"), user, job_field(details, "Partition"))
    qos_name = job_field(details, "QOS")
    qos = next((r for r in records if r.kind == "qos" and r.name == qos_name), None)
    return group_limit_exceeded(name, parse_tres(job_field(details, "TRES")), chain, qos)
