"""The monitoring stack's alarms: one per run outcome, QC failures and each Lambda's errors, with the
threshold and evaluation periods of the environment's config (config/<env>.yaml, `alarms`)."""

from __future__ import annotations

import json
from dataclasses import replace

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from seqpipe_infra.config import ENVIRONMENTS, AlarmsConfig, AlarmTrigger, EnvConfig, load_config
from seqpipe_infra.monitoring_stack import MonitoringStack

from seqpipe.handlers.registry import HANDLERS


def expected_alarms(config: EnvConfig) -> dict[str, tuple[float, int]]:
    """Alarm name → (threshold, evaluation periods) as the config sets them."""
    alarms = config.alarms
    by_name = {
        "run-failures": alarms.run_failures,
        "run-timeouts": alarms.run_timeouts,
        "qc-failures": alarms.qc_failures,
        **{f"{base}-errors": alarms.lambda_errors for base in HANDLERS},
    }
    return {
        f"{config.prefix}-{name}": (trigger.threshold, trigger.evaluation_periods)
        for name, trigger in by_name.items()
    }


def synthesized_alarms(template: dict) -> dict[str, tuple[float, int]]:
    return {
        resource["Properties"]["AlarmName"]: (
            resource["Properties"]["Threshold"],
            resource["Properties"]["EvaluationPeriods"],
        )
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_environment_gets_the_alarms_of_its_config(synthesis, environment):
    config = synthesis.configs[environment]
    template = synthesis.template(f"{config.prefix}-monitoring")
    assert synthesized_alarms(template) == expected_alarms(config)
    # every alarm but QC failures (about samples, not a deployment) rolls a deployment back
    rollback = json.dumps(template["Outputs"]["RollbackAlarmArns"]["Value"])
    for name in expected_alarms(config):
        assert (f"alarm:{name}" in rollback) == (not name.endswith("-qc-failures")), name


def test_alarm_thresholds_and_periods_are_read_from_the_config():
    """The shipped configs all say 1 in 1 period; other values must reach the template unchanged."""
    config = replace(
        load_config("dev"),
        alarms=AlarmsConfig(
            run_failures=AlarmTrigger(threshold=3, evaluation_periods=2),
            run_timeouts=AlarmTrigger(threshold=1, evaluation_periods=4),
            qc_failures=AlarmTrigger(threshold=5, evaluation_periods=1),
            lambda_errors=AlarmTrigger(threshold=2, evaluation_periods=3),
        ),
    )
    app = cdk.App()
    env = cdk.Environment(account=config.account, region=config.region)
    key = kms.Key(cdk.Stack(app, "Keys", env=env), "Key")
    stack = MonitoringStack(app, "Monitoring", config=config, key=key, env=env)

    alarms = synthesized_alarms(Template.from_stack(stack).to_json())

    assert alarms == expected_alarms(config)
    assert alarms[f"{config.prefix}-run-failures"] == (3, 2)
