"""Runs that end and retries that make sense, per environment, on the synthesized templates: the time
limits and retry policies of the config in the state machine, the head job's Batch retry strategy, the
rule that hands failed, timed-out and stopped executions to the run cleanup, and the alarm on what the
cleanup counts."""

from __future__ import annotations

import json
import re

import pytest
from seqpipe_infra.config import ENVIRONMENTS

from seqpipe.handlers.registry import METRICS_NAMESPACE, RUN_TIMEOUTS
from seqpipe.orchestration.state_machine import head_job_retry_strategy, run_ended_pattern

from .test_security import as_list, resources


@pytest.fixture(params=ENVIRONMENTS)
def env(request, synthesis):
    return synthesis.configs[request.param], synthesis.templates(request.param)


def definition(templates: dict) -> dict:
    """The state machine's definition, with each CloudFormation reference in it read as "REF"."""
    ((_, machine),) = resources(templates, "AWS::StepFunctions::StateMachine")
    _, parts = machine["DefinitionString"]["Fn::Join"]
    return json.loads("".join(part if isinstance(part, str) else "REF" for part in parts))


def _cfn_keys(value):
    """An API-shaped document (camelCase keys) as CloudFormation spells it (PascalCase)."""
    if isinstance(value, dict):
        return {key[:1].upper() + key[1:]: _cfn_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cfn_keys(item) for item in value]
    return value


def test_the_workflow_and_the_whole_run_have_the_time_limits_of_the_config(env):
    config, templates = env
    machine = definition(templates)
    assert machine["TimeoutSeconds"] == config.run.timeout_seconds
    assert machine["States"]["RunWorkflow"]["TimeoutSeconds"] == config.run.workflow_timeout_seconds
    # a caught timeout fails the run through the failure path, which records the cause
    assert machine["States"]["RunWorkflow"]["Catch"][0]["Next"] == "MarkFailed"


def test_service_errors_are_retried_with_the_configs_backoff_and_full_jitter(env):
    config, templates = env
    retry = config.run.service_retry
    rules = [
        (name, rule)
        for name, state in definition(templates)["States"].items()
        for rule in state.get("Retry", [])
    ]
    assert {name for name, _ in rules} >= {"RecordRun", "RunWorkflow", "MarkFailed", "NotifyFailure"}
    for name, rule in rules:
        assert rule["MaxAttempts"] == retry.max_attempts >= 6, name
        assert rule["IntervalSeconds"] == retry.interval_seconds, name
        assert rule["BackoffRate"] == retry.backoff_rate > 1, name
        assert rule["MaxDelaySeconds"] == retry.max_delay_seconds, name
        assert rule["JitterStrategy"] == "FULL", name


def test_a_failed_head_job_is_not_retried_by_the_state_machine(env):
    _, templates = env
    (rule,) = definition(templates)["States"]["RunWorkflow"]["Retry"]
    assert all(error.startswith("Batch.") for error in rule["ErrorEquals"]), rule


def test_batch_retries_the_head_job_after_a_lost_host_only(env):
    config, templates = env
    ((_, head),) = resources(templates, "AWS::Batch::JobDefinition")
    assert head["RetryStrategy"] == _cfn_keys(head_job_retry_strategy(config.batch.head_attempts))
    rules = head["RetryStrategy"]["EvaluateOnExit"]
    assert rules[0] == {"OnStatusReason": "Host EC2*", "Action": "RETRY"}
    assert rules[-1] == {"OnReason": "*", "Action": "EXIT"}  # without it, Batch retries every failure


def test_a_failed_timed_out_or_stopped_execution_goes_to_the_run_cleanup(env):
    config, templates = env
    rules = {p["Name"]: p for _, p in resources(templates, "AWS::Events::Rule")}
    rule = rules[f"{config.prefix}-run-ended"]
    ((machine_id, _),) = resources(templates, "AWS::StepFunctions::StateMachine")
    assert rule["EventPattern"] == run_ended_pattern({"Ref": machine_id})
    (target,) = rule["Targets"]
    assert "Arn" in target["DeadLetterConfig"] and target["RetryPolicy"]["MaximumRetryAttempts"] == 4
    functions = {logical: p for logical, p in resources(templates, "AWS::Lambda::Function")}
    (cleanup,) = (
        logical for logical, p in functions.items() if p["FunctionName"] == f"{config.prefix}-run-cleanup"
    )
    assert target["Arn"] == {"Fn::GetAtt": [cleanup, "Arn"]}
    # it searches the head queue first, then the task queue
    queues = json.dumps(functions[cleanup]["Environment"]["Variables"]["JOB_QUEUES"])
    assert re.search(r"HeadQueue.*TaskQueue", queues), queues


def test_the_run_cleanup_finds_the_runs_batch_jobs_and_may_terminate_jobs_only(env):
    config, templates = env
    (policy,) = (
        p["PolicyDocument"]["Statement"]
        for logical, p in resources(templates, "AWS::IAM::Policy")
        if logical.startswith("RunCleanupRole")
    )
    batch = {
        action: json.dumps(statement["Resource"])
        for statement in policy
        for action in as_list(statement["Action"])
        if action.startswith("batch:")
    }
    assert set(batch) == {"batch:ListJobs", "batch:DescribeJobs", "batch:TerminateJob"}
    assert batch["batch:ListJobs"] == batch["batch:DescribeJobs"] == '"*"'  # no resource-level scoping
    assert batch["batch:TerminateJob"].endswith(f':batch:{config.region}:{config.account}:job/*"]]}}')


def test_the_run_timeouts_alarm_watches_the_timeouts_the_run_cleanup_counts(env):
    config, templates = env
    alarms = {p["AlarmName"]: p for _, p in resources(templates, "AWS::CloudWatch::Alarm")}
    alarm = alarms[f"{config.prefix}-run-timeouts"]
    assert alarm["Namespace"] == METRICS_NAMESPACE and alarm["MetricName"] == RUN_TIMEOUTS.name
    assert alarm["Dimensions"] == [{"Name": "service", "Value": RUN_TIMEOUTS.function}]
    assert alarm["Statistic"] == "Sum" and alarm["Period"] == 300
    assert alarm["Threshold"] == config.alarms.run_timeouts.threshold
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
