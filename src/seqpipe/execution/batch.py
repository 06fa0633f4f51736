"""AWS Batch resource requests that the aws-batch executor passes through unchanged.

snakemake-executor-plugin-aws-batch 0.2.1 accepts only the (vCPU, memory) pairs of its table
(``VALID_RESOURCES_MAPPING``). For a memory value outside the table it warns and *lowers* the
memory to the smallest value allowed for that vCPU count, so a job asking for 16000 MiB on 4 vCPUs
would get 8192 MiB and die of OOM far from the cause. ``fit_memory`` rounds *up* to the next
table value instead, and fails loudly when no pair fits.

The aws-batch profile calls it from its resource expressions::

    mem_mb: "__import__('seqpipe.execution.batch').execution.batch.fit_memory(threads, 8000 * attempt)"
"""

from __future__ import annotations

from snakemake_executor_plugin_aws_batch.constant import VALID_RESOURCES_MAPPING


class BatchResourceError(ValueError):
    """No AWS Batch (vCPU, memory) pair satisfies a job's request."""


def valid_memory(vcpus: int) -> list[int]:
    """Memory values (MiB) the executor accepts for ``vcpus`` vCPUs, ascending."""
    return sorted(mem for mem, cpus in VALID_RESOURCES_MAPPING.items() if vcpus in cpus)


def fit_memory(vcpus: int, mem_mb: int) -> int:
    """The smallest memory (MiB) valid for ``vcpus`` on AWS Batch that is at least ``mem_mb``."""
    allowed = valid_memory(int(vcpus))
    if not allowed:
        counts = sorted({c for cpus in VALID_RESOURCES_MAPPING.values() for c in cpus})
        raise BatchResourceError(f"AWS Batch has no memory setting for {vcpus} vCPUs; use one of {counts}")
    for mem in allowed:
        if mem >= mem_mb:
            return mem
    raise BatchResourceError(
        f"{mem_mb} MiB exceeds the largest AWS Batch memory for {vcpus} vCPUs ({allowed[-1]} MiB); "
        f"give the rule more threads (vCPUs) or less memory"
    )
