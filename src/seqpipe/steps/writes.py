"""One write of a step item, as the tracker decides it and the writer applies it; JSON-able, so the
writer can spill it to a file while DynamoDB is away."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from seqpipe.aws.items import Item
from seqpipe.aws.repositories import JobRepository

Op = Literal["create", "advance", "annotate"]


@dataclass(frozen=True)
class StepWrite:
    op: Op
    job_id: str
    item: Item | None = None  # create: the whole step (seqpipe.aws.items.step_item)
    status: str | None = None  # advance: the new status, reached at `at`
    at: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def apply(self, jobs: JobRepository) -> bool:
        """Write it (conditionally: a write that was applied before changes nothing, False)."""
        if self.op == "create":
            assert self.item is not None
            return jobs.record_step(self.item)
        if self.op == "advance":
            assert self.status is not None and self.at is not None
            return jobs.advance_step(self.job_id, self.status, self.at, **self.attributes)
        return jobs.annotate_step(self.job_id, **self.attributes)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepWrite:
        return cls(**data)
