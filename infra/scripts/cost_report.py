#!/usr/bin/env python3
"""Cost per run and per sample of an environment, from Cost Explorer (tag `run`).

    cost_report.py --env prod --start 2026-11-01 --end 2026-12-01 [--json]

Exit status: 0 with a report (also when there is no cost data yet, which is said plainly),
1 when Cost Explorer cannot be read, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import boto3
from seqpipe_infra.config import ENVIRONMENTS, ConfigError, load_config
from seqpipe_infra.cost_report import (
    CostReportError,
    build_report,
    report_json,
    samples_from_jobs_table,
)
from seqpipe_infra.names import table_name


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", required=True, choices=ENVIRONMENTS)
    parser.add_argument("--start", required=True, type=_day, help="first day (inclusive)")
    parser.add_argument("--end", required=True, type=_day, help="last day (exclusive)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.end <= args.start:
        parser.error(f"--end ({args.end}) must be after --start ({args.start})")
    try:
        from seqpipe.aws.tables import JOBS

        config = load_config(args.env)
        # Cost Explorer is a global API served from us-east-1.
        ce = boto3.client("ce", region_name="us-east-1")
        jobs = boto3.resource("dynamodb", region_name=config.region).Table(table_name(config, JOBS))
        report = build_report(ce, config.environment, args.start, args.end, samples_from_jobs_table(jobs))
    except ConfigError as exc:
        print(f"cost_report: {exc}", file=sys.stderr)
        return 2
    except CostReportError as exc:
        print(f"cost_report: {exc}", file=sys.stderr)
        return 1
    print(report_json(report) if args.json else report.to_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
