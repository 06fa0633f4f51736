#!/usr/bin/env python3
"""Print the environment variables that point the seqpipe CLI at a deployed environment.

    eval "$(infra/scripts/seqpipe_env.py prod)"     # then: seqpipe erase ..., seqpipe status ...

The names follow from config/<env>.yaml exactly as the stacks derive them (seqpipe_infra.names);
they are the variables seqpipe.aws.settings.Settings reads. No credentials are printed.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seqpipe_infra.config import ENVIRONMENTS, ConfigError, load_config
from seqpipe_infra.names import alerts_topic_name, deployed_settings


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ENVIRONMENTS:
        print(f"usage: seqpipe_env.py {{{','.join(ENVIRONMENTS)}}}", file=sys.stderr)
        return 2
    try:
        config = load_config(argv[0])
    except ConfigError as exc:
        print(f"seqpipe_env: {exc}", file=sys.stderr)
        return 2
    settings = deployed_settings(
        config, f"arn:aws:sns:{config.region}:{config.account}:{alerts_topic_name(config)}"
    )
    variables = {"SEQPIPE_PREFIX": config.prefix, "AWS_REGION": config.region, **settings.environment()}
    for name, value in variables.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
