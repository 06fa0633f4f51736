#!/usr/bin/env python3
"""The account prerequisites of an environment: GuardDuty with S3 protection, Security Hub, AWS Config
recording with the HIPAA conformance pack (seqpipe_infra/preflight.py). deploy.sh runs it first.

    preflight.py --env prod [--json]

Exit status: 0 when every prerequisite is in place, 1 when one is missing or cannot be checked,
2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3
from seqpipe_infra.config import ENVIRONMENTS, ConfigError, load_config
from seqpipe_infra.preflight import check_account


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, choices=ENVIRONMENTS)
    parser.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.env)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    session = boto3.Session(region_name=config.region)
    checks = check_account(session.client)
    if args.json:
        print(
            json.dumps(
                {"environment": args.env, "region": config.region, "checks": [asdict(c) for c in checks]}
            )
        )
    else:
        for check in checks:
            print(f"{'ok     ' if check.ok else 'MISSING'}  {check.name}: {check.detail}")
    missing = [c.name for c in checks if not c.ok]
    if missing:
        print(
            f"{args.env} ({config.region}): missing account prerequisites: {', '.join(missing)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
