"""What seqpipe corrects in the aws-batch executor: resource requests and task job definitions.

snakemake-executor-plugin-aws-batch 0.2.1 accepts only the (vCPU, memory) pairs of its table
(``VALID_RESOURCES_MAPPING``). For a memory value outside the table it warns and *lowers* the
memory to the smallest value allowed for that vCPU count, so a job asking for 16000 MiB on 4 vCPUs
would get 8192 MiB and die of OOM far from the cause. ``fit_memory`` rounds *up* to the next
table value instead, and fails loudly when no pair fits.

The aws-batch profile calls it from its resource expressions::

    mem_mb: "__import__('seqpipe.execution.batch').execution.batch.fit_memory(threads, 8000 * attempt)"

The plugin also registers every task job definition as *privileged* (root on the host, every device)
and names it ``snakejob-def-<rule>-<uuid>``. ``guard_task_job_definitions`` rewrites each
RegisterJobDefinition request before boto3 sends it: not privileged, and named under the deployment's
prefix, the only definitions the head role may register (infra/seqpipe_infra/batch_stack.py). The
profile installs it; the rewrite is a botocore event handler on boto3's default session, from which
the plugin makes its client, so no plugin code is replaced.

A job group is one Batch job whose request Snakemake computes: the sum over the members it runs side
by side (layers of at most the profile's ``cores``), the widest layer winning. Sums of arbitrary pairs
are rarely pairs of the table, so members of a group ask for GROUP_VCPUS only, 8 or 16, and for a
multiple of 8192 MiB (``fit_group_memory``): a layer is then one 16-vCPU member or one or two 8-vCPU
members, and its memory a multiple of 8192 MiB that 8 and 16 vCPUs both accept, whatever members
a run needs (a whole sample, or the QC jobs of one rerun alone).
"""

from __future__ import annotations

from typing import Any

import boto3

# Set by the head job definition to the deployment's prefix (seqpipe-<environment>).
JOB_DEFINITION_PREFIX_VARIABLE = "SEQPIPE_JOB_DEFINITION_PREFIX"
_REGISTER = "before-parameter-build.batch.RegisterJobDefinition"


class BatchResourceError(ValueError):
    """No AWS Batch (vCPU, memory) pair satisfies a job's request."""


def _resources_mapping() -> dict[int, list[int]]:
    # imported here: the infra app reads this module's names without the plugin installed
    from snakemake_executor_plugin_aws_batch.constant import VALID_RESOURCES_MAPPING

    return VALID_RESOURCES_MAPPING


def valid_memory(vcpus: int) -> list[int]:
    """Memory values (MiB) the executor accepts for ``vcpus`` vCPUs, ascending."""
    return sorted(mem for mem, cpus in _resources_mapping().items() if vcpus in cpus)


GROUP_VCPUS = (8, 16)
GROUP_MEMORY_STEP = 8192


def group_vcpus(threads: int) -> int:
    """The vCPUs a group member asks for: 8, or 16 for more than 8 threads."""
    return GROUP_VCPUS[0] if threads <= GROUP_VCPUS[0] else GROUP_VCPUS[1]


def fit_group_memory(vcpus: int, mem_mb: int) -> int:
    """A group member's memory (MiB): the least multiple of 8192 valid for ``vcpus`` (8 or 16) and at
    least ``mem_mb``."""
    if vcpus not in GROUP_VCPUS:
        raise BatchResourceError(f"a job group member asks for {GROUP_VCPUS} vCPUs, not {vcpus}")
    return fit_memory(vcpus, -(-max(mem_mb, 1) // GROUP_MEMORY_STEP) * GROUP_MEMORY_STEP)


def fit_memory(vcpus: int, mem_mb: int) -> int:
    """The smallest memory (MiB) valid for ``vcpus`` on AWS Batch that is at least ``mem_mb``."""
    allowed = valid_memory(int(vcpus))
    if not allowed:
        counts = sorted({c for cpus in _resources_mapping().values() for c in cpus})
        raise BatchResourceError(f"AWS Batch has no memory setting for {vcpus} vCPUs; use one of {counts}")
    for mem in allowed:
        if mem >= mem_mb:
            return mem
    raise BatchResourceError(
        f"{mem_mb} MiB exceeds the largest AWS Batch memory for {vcpus} vCPUs ({allowed[-1]} MiB); "
        f"give the rule more threads (vCPUs) or less memory"
    )


def guard_task_job_definitions(prefix: str, session: boto3.Session | None = None) -> None:
    """Make every job definition registered through ``session`` (boto3's default session unless
    given) non-privileged and named under ``prefix``.

    The handler goes first among the event's handlers, so that observers of the same request (the
    step recorder, seqpipe.steps.batch) see the name that is registered and later submitted.
    """
    if session is None:
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
    assert session is not None

    def rewrite(params: dict[str, Any], **_: Any) -> None:
        params["containerProperties"]["privileged"] = False
        params["jobDefinitionName"] = f"{prefix}-{params['jobDefinitionName']}"

    # unique_id: the profile may be evaluated more than once in a process
    session.events.register_first(_REGISTER, rewrite, unique_id="seqpipe-task-job-definitions")
