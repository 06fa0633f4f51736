#!/usr/bin/env python3
"""CDK entry point: `cdk synth -c env=dev` (or staging, prod); without `env`, every environment."""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from seqpipe_infra.app_builder import build_app
from seqpipe_infra.config import ENVIRONMENTS, load_config

requested = cdk.App().node.try_get_context("env")
app, _ = build_app([load_config(env) for env in ([requested] if requested else ENVIRONMENTS)])
app.synth()
