"""The monitoring stack's alarms: one per run outcome, QC failures, each Lambda's errors and throttles,
dead letters, jobs waiting RUNNABLE and root activity, with the threshold and evaluation periods of
the environment's config (config/<env>.yaml, `alarms`)."""

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

NOT_ROLLING_BACK = ("qc-failures", "dead-letters", "runnable-seconds", "root-activity")


def expected_alarms(config: EnvConfig) -> dict[str, tuple[float, int]]:
    """Alarm name → (threshold, evaluation periods) as the config sets them."""
    alarms = config.alarms
    by_name = {
        "run-failures": alarms.run_failures,
        "run-timeouts": alarms.run_timeouts,
        "qc-failures": alarms.qc_failures,
        **{f"{base}-errors": alarms.lambda_errors for base in HANDLERS},
        **{f"{base}-throttles": alarms.lambda_throttles for base in HANDLERS},
        "dead-letters": alarms.dead_letters,
        "runnable-seconds": alarms.runnable_seconds,
        "root-activity": alarms.root_activity,
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
    # every alarm about runs and functions rolls a deployment back; QC failures (about samples) and
    # what detection watches (dead letters, jobs waiting for capacity, the root user) do not
    rollback = json.dumps(template["Outputs"]["RollbackAlarmArns"]["Value"])
    kept = {f"{config.prefix}-{slug}" for slug in NOT_ROLLING_BACK}
    for name in expected_alarms(config):
        assert (f"alarm:{name}" in rollback) == (name not in kept), name


def test_alarm_thresholds_and_periods_are_read_from_the_config():
    """The shipped configs all say 1 in 1 period; other values must reach the template unchanged."""
    config = replace(
        load_config("dev"),
        alarms=AlarmsConfig(
            run_failures=AlarmTrigger(threshold=3, evaluation_periods=2),
            run_timeouts=AlarmTrigger(threshold=1, evaluation_periods=4),
            qc_failures=AlarmTrigger(threshold=5, evaluation_periods=1),
            lambda_errors=AlarmTrigger(threshold=2, evaluation_periods=3),
            lambda_throttles=AlarmTrigger(threshold=4, evaluation_periods=2),
            dead_letters=AlarmTrigger(threshold=10, evaluation_periods=1),
            runnable_seconds=AlarmTrigger(threshold=5400, evaluation_periods=2),
            root_activity=AlarmTrigger(threshold=1, evaluation_periods=1),
        ),
    )
    app = cdk.App()
    env = cdk.Environment(account=config.account, region=config.region)
    key = kms.Key(cdk.Stack(app, "Keys", env=env), "Key")
    stack = MonitoringStack(app, "Monitoring", config=config, key=key, env=env)

    alarms = synthesized_alarms(Template.from_stack(stack).to_json())

    assert alarms == expected_alarms(config)
    assert alarms[f"{config.prefix}-run-failures"] == (3, 2)
    assert alarms[f"{config.prefix}-runnable-seconds"] == (5400, 2)
