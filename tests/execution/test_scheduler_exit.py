"""A finished Snakemake run exits at once instead of waiting out its scheduler's rate-limit timer."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from seqpipe.execution.command import workflow_environment

SNAKEFILE = """
from seqpipe.execution.scheduler_exit import cancel_scheduler_timers


rule write_flag:
    output:
        "flag.txt",
    shell:
        "touch {output}"


onsuccess:
    Path("cancelled.txt").write_text(str(cancel_scheduler_timers()))
"""


def test_a_run_with_a_one_minute_rate_limit_exits_without_waiting_for_it(tmp_path: Path) -> None:
    (tmp_path / "Snakefile").write_text("from pathlib import Path\n" + SNAKEFILE)
    start = time.monotonic()
    # Snakemake's scheduler re-arms a one-minute timer after each pass; unless cancelled, it keeps the
    # process alive for up to that minute after the job.
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "--max-jobs-per-timespan", "100/1m"],
        cwd=tmp_path,
        env=workflow_environment(),
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "flag.txt").is_file()
    assert int((tmp_path / "cancelled.txt").read_text()) >= 1
    assert time.monotonic() - start < 40
