"""Errors phrased for the person who has to fix the run folder or the sample sheet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class DemuxError(Exception):
    """A run folder, sample sheet or demultiplexing problem; the message says what and where."""


@dataclass(frozen=True)
class Problem:
    """One finding, located as precisely as the input allows (file, line, field)."""

    path: Path | str
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = str(self.path)
        if self.line is not None:
            where += f", line {self.line}"
        if self.field:
            where += f", field {self.field}"
        return f"{where}: {self.message}"


def raise_if_any(problems: list[Problem], headline: str) -> None:
    """Report every problem at once so one edit-and-retry cycle fixes them all."""
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise DemuxError(f"{headline} ({len(problems)} problem{'s' * (len(problems) != 1)}):\n{lines}")
