"""Cost per run and per sample from Cost Explorer, grouped by the `run` cost-allocation tag.

Batch jobs and executions carry `run=<run id>` (the head job passes it to every task through
--aws-batch-tags and Batch propagates it to the instances' resources); long-lived resources carry
`run=shared`. Samples per run come from the run's job record (table processing-jobs).
Cost Explorer only knows tags that were activated as cost-allocation tags, and reports them about a
day after use: an empty answer is normal for a new environment and is reported as such, not as zero.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from seqpipe_infra.common import SHARED_RUN_TAG

METRIC = "UnblendedCost"


class CostReportError(RuntimeError):
    """Cost Explorer could not be read; the message says what to check."""


@dataclass
class RunCost:
    run_id: str
    cost: float
    samples: int | None  # None: the run has no job record (or the table could not be read)

    @property
    def per_sample(self) -> float | None:
        return round(self.cost / self.samples, 4) if self.samples else None


@dataclass
class CostReport:
    environment: str
    start: str
    end: str
    currency: str | None = None
    runs: list[RunCost] = field(default_factory=list)
    shared: float = 0.0  # long-lived resources (run=shared)
    untagged: float = 0.0  # resources without a run tag in this environment
    notes: list[str] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return self.currency is not None

    def to_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["runs"] = [{**asdict(r), "per_sample": r.per_sample} for r in self.runs]
        result["has_data"] = self.has_data
        return result

    def to_text(self) -> str:
        period = f"{self.environment}, {self.start} to {self.end} (end exclusive)"
        if not self.has_data:
            return (
                f"No cost data for {period}.\n"
                "Cost Explorer returned no costs with the tag environment="
                f"{self.environment}: the tags project/environment/run must be activated as cost-allocation "
                "tags (Billing console), and costs appear about 24 h after resources are used."
            )
        lines = [
            f"Costs for {period}, {METRIC} in {self.currency}",
            f"{'run':<32} {'cost':>12} {'samples':>8} {'per sample':>11}",
        ]
        for run in self.runs:
            samples = "?" if run.samples is None else str(run.samples)
            per_sample = "n/a" if run.per_sample is None else f"{run.per_sample:.2f}"
            lines.append(f"{run.run_id:<32} {run.cost:>12.2f} {samples:>8} {per_sample:>11}")
        lines.append(f"{'(shared infrastructure)':<32} {self.shared:>12.2f}")
        lines.append(f"{'(no run tag)':<32} {self.untagged:>12.2f}")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def fetch_costs_by_run(
    ce: Any, environment: str, start: date, end: date
) -> tuple[dict[str, Decimal], str | None]:
    """{run tag value ('' = untagged): cost} summed over the period, and the currency."""
    if end <= start:
        raise CostReportError(f"the period is empty: start {start} is not before end {end}")
    request: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "MONTHLY",
        "Metrics": [METRIC],
        "Filter": {"Tags": {"Key": "environment", "Values": [environment], "MatchOptions": ["EQUALS"]}},
        "GroupBy": [{"Type": "TAG", "Key": "run"}],
    }
    costs: dict[str, Decimal] = {}
    currency = None
    while True:
        try:
            response = ce.get_cost_and_usage(**request)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise CostReportError(
                f"Cost Explorer refused the request ({error.get('Code')}: {error.get('Message')}); it needs "
                "ce:GetCostAndUsage in the payer or member account and Cost Explorer enabled"
            ) from exc
        except BotoCoreError as exc:
            raise CostReportError(f"Cost Explorer could not be reached: {exc}") from exc
        for period in response.get("ResultsByTime", []):
            for group in period.get("Groups", []):
                amount = group["Metrics"][METRIC]
                tag = group["Keys"][0].partition("$")[2]  # "run$RUN1" -> "RUN1"; "run$" -> untagged
                costs[tag] = costs.get(tag, Decimal(0)) + Decimal(amount["Amount"])
                currency = currency or amount.get("Unit")
        token = response.get("NextPageToken")
        if not token:
            return costs, currency
        request["NextPageToken"] = token


def build_report(
    ce: Any,
    environment: str,
    start: date,
    end: date,
    samples_of_run: Callable[[str], list[str] | None],
) -> CostReport:
    costs, currency = fetch_costs_by_run(ce, environment, start, end)
    report = CostReport(environment, start.isoformat(), end.isoformat(), currency)
    for tag, cost in sorted(costs.items()):
        if tag == "":
            report.untagged = float(cost)
        elif tag == SHARED_RUN_TAG:
            report.shared = float(cost)
        else:
            try:
                samples = samples_of_run(tag)
            except (ClientError, BotoCoreError) as exc:
                report.notes.append(f"samples of run {tag} could not be read: {exc}")
                samples = None
            if samples is None:
                report.notes.append(f"run {tag} has no job record; cost per sample unknown")
            report.runs.append(RunCost(tag, float(cost), None if samples is None else len(samples)))
    return report


def samples_from_jobs_table(jobs_table: Any) -> Callable[[str], list[str] | None]:
    """Look up a run's samples in processing-jobs (a boto3 Table resource)."""

    def lookup(run_id: str) -> list[str] | None:
        item = jobs_table.get_item(Key={"job_id": run_id}).get("Item")
        return None if item is None else list(item.get("samples", []))

    return lookup


def report_json(report: CostReport) -> str:
    return json.dumps(report.to_dict(), indent=2)
