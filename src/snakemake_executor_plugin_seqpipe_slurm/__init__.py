"""The executor ``seqpipe-slurm`` (profiles/slurm): Snakemake registers executor plugins by this
module name; the executor itself is seqpipe.execution.slurm_executor."""

from seqpipe.execution.slurm_executor import Executor, ExecutorSettings, common_settings

__all__ = ["Executor", "ExecutorSettings", "common_settings"]
