"""seqpipe's SLURM executor: snakemake-executor-plugin-slurm 2.8, plus failing hopeless pending jobs.

The plugin has no setting for it: it yields every PENDING job back to Snakemake as running. Before
each of the plugin's status checks, this executor asks ``squeue`` for the run's pending jobs and
their reasons. A job that can never start (seqpipe.execution.slurm_pending) is cancelled and
reported to Snakemake as failed, with SLURM's reason in the message; Snakemake logs it like any
failed job (and retries it per the profile, which fails again as fast). All other jobs go through
the plugin's own status check unchanged.

Snakemake finds executor plugins by their top-level module name, so the package
``snakemake_executor_plugin_seqpipe_slurm`` (beside ``seqpipe`` in ``src/``) exposes this module as
the executor ``seqpipe-slurm``. Its settings are the plugin's, under the prefix ``--seqpipe-slurm-``.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncGenerator

from snakemake_executor_plugin_slurm import Executor as SlurmExecutor
from snakemake_executor_plugin_slurm import ExecutorSettings, common_settings
from snakemake_interface_executor_plugins.executors.base import SubmittedJobInfo

from seqpipe.execution.slurm_pending import pending_jobs, why_never_starts

__all__ = ["Executor", "ExecutorSettings", "common_settings"]


def _hopeless(run_name: str) -> dict[str, str]:
    """SLURM job id -> message, for the run's pending jobs that can never start."""
    found = {}
    for job in pending_jobs(run_name):
        why = why_never_starts(job)
        if why is not None:
            found[job.job_id] = f"pending with reason '{job.reason}': {why}"
    return found


class Executor(SlurmExecutor):
    async def check_active_jobs(
        self, active_jobs: list[SubmittedJobInfo]
    ) -> AsyncGenerator[SubmittedJobInfo, None]:
        waiting = active_jobs
        if active_jobs:
            try:
                async with self.status_rate_limiter:
                    hopeless = await asyncio.to_thread(_hopeless, self.run_uuid)
            except (OSError, subprocess.SubprocessError) as err:
                # a controller hiccup must not fail jobs; the next check asks again
                self.logger.warning(f"could not read the reasons of pending SLURM jobs: {err}")
                hopeless = {}
            waiting = [j for j in active_jobs if j.external_jobid not in hopeless]
            for j in active_jobs:
                if j.external_jobid in hopeless:
                    self._fail_hopeless(j, hopeless[j.external_jobid])
        async for j in super().check_active_jobs(waiting):
            yield j

    def _fail_hopeless(self, job_info: SubmittedJobInfo, why: str) -> None:
        job_id = job_info.external_jobid
        cancelled = subprocess.run(["scancel", job_id], capture_output=True, text=True, timeout=60)
        note = "cancelled" if cancelled.returncode == 0 else f"scancel failed: {cancelled.stderr.strip()}"
        msg = f"SLURM job '{job_id}' can never start, {why} ({note})."
        self.logger.error(msg)
        self.report_job_error(job_info, msg=msg)
