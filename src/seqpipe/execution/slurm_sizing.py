"""The largest job the SLURM profile may submit: one node of the partition, as ``sinfo`` reports it.

A job that asks for more CPUs than any node of its partition has is accepted by ``sbatch`` and then
pends with reason ``PartitionConfig`` for ever. So the profile reads the partition's nodes when it
loads and caps every rule's threads and memory at the largest node (``SEQPIPE_MAX_THREADS`` may
lower the thread cap, never raise it above the node). A partition that does not exist or has no
nodes stops Snakemake before any job, with the ``sinfo`` command in the message.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass


class SlurmSizingError(RuntimeError):
    """The partition's node sizes cannot be read, or no job fits them."""


@dataclass(frozen=True, order=True)
class Node:
    """What one node offers one job (ordered by CPUs, then memory: the largest node sorts last)."""

    cpus: int
    mem_mb: int


@dataclass(frozen=True)
class JobCap:
    """The most one job (or one group job) of the run asks for."""

    threads: int
    mem_mb: int


def parse_sinfo_nodes(text: str) -> list[Node]:
    """Nodes from ``sinfo --noheader --Node --format '%N|%c|%m'`` (name, CPUs, memory in MB)."""
    nodes = []
    for line in text.splitlines():
        if not line.strip():
            continue
        _name, cpus, mem_mb = line.split("|")
        nodes.append(Node(int(cpus), int(mem_mb)))
    return nodes


def partition_nodes(partition: str, *, timeout: float = 60) -> list[Node]:
    """The nodes of ``partition`` (each once); raises SlurmSizingError when there are none."""
    argv = ["sinfo", "--noheader", "--Node", "--partition", partition, "--format", "%N|%c|%m"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SlurmSizingError(f"cannot read the node sizes of partition {partition!r}: {err}") from err
    if done.returncode != 0:
        raise SlurmSizingError(
            f"cannot read the node sizes of partition {partition!r}: `{' '.join(argv)}` failed: "
            f"{done.stderr.strip()}"
        )
    nodes = parse_sinfo_nodes(done.stdout)
    if not nodes:
        raise SlurmSizingError(
            f"partition {partition!r} has no nodes (`{' '.join(argv)}` lists none); "
            "set SEQPIPE_SLURM_PARTITION to a partition of this cluster (`sinfo -s` lists them)"
        )
    return nodes


def job_cap(nodes: list[Node], max_threads: int | None = None) -> JobCap:
    """The largest node of ``nodes``, its threads lowered to ``max_threads`` when that is smaller.

    Threads and memory come from one node, so a job asking for both fits that node.
    """
    if max_threads is not None and max_threads < 1:
        raise SlurmSizingError(f"SEQPIPE_MAX_THREADS must be at least 1, got {max_threads}")
    largest = max(nodes)
    threads = largest.cpus if max_threads is None else min(max_threads, largest.cpus)
    return JobCap(threads=threads, mem_mb=largest.mem_mb)


def profile_cap(partition: str, max_threads: str | None) -> JobCap:
    """The SLURM profile's cap: ``partition``'s largest node and ``SEQPIPE_MAX_THREADS`` (unset: None)."""
    if max_threads is not None and not max_threads.strip().isdigit():
        raise SlurmSizingError(f"SEQPIPE_MAX_THREADS must be a whole number, got {max_threads!r}")
    return job_cap(partition_nodes(partition), None if max_threads is None else int(max_threads))
