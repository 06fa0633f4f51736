#!/usr/bin/env python3
"""List which principals can read, write or erase each bucket and table of an environment.

iam_audit.py --env dev --templates cdk.out          # from `cdk synth` output (no AWS access)
iam_audit.py --env prod --live                      # from IAM/S3/DynamoDB with your credentials
add --json for machine-readable output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from seqpipe_infra.config import ENVIRONMENTS, ConfigError, load_config
from seqpipe_infra.iam_audit import audit_live, audit_templates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", required=True, choices=ENVIRONMENTS)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--templates", type=Path, help="cloud assembly directory (cdk.out)")
    source.add_argument("--live", action="store_true", help="read IAM, S3 and DynamoDB with boto3")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.env)
        if args.live:
            audit = audit_live(config.prefix)
        else:
            audit = audit_templates(args.templates, config.prefix, config.account, config.region)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"iam_audit: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # botocore errors: no credentials, access denied, throttling
        print(f"iam_audit: could not read the live account: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(audit.access(), indent=2) if args.json else audit.to_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
