"""Detection in the synthesized templates: what the trail records, and the alarms that can fire on
dead letters, throttles, jobs waiting for capacity and the root user (docs/infrastructure.md,
"Threats and controls")."""

from __future__ import annotations

import json

from seqpipe_infra.batch_stack import BATCH_DEFAULT_LOG_GROUP
from seqpipe_infra.monitoring_stack import ROOT_ACTIVITY_PATTERN, TRAIL_METRICS_NAMESPACE
from seqpipe_infra.names import bucket_name, trail_log_group_name
from seqpipe_infra.orchestration_stack import QUEUE_WATCH_SCHEDULE
from synthesized import resources

from seqpipe.aws.tables import ALL_TABLES, ERASURE_AUDIT
from seqpipe.handlers.registry import HANDLERS, OLDEST_RUNNABLE_SECONDS


def trail_selectors(templates: dict) -> dict[str, dict[str, dict]]:
    """Selector name → field → its operators."""
    ((_, trail),) = resources(templates, "AWS::CloudTrail::Trail")
    return {
        s["Name"]: {f["Field"]: {k: v for k, v in f.items() if k != "Field"} for f in s["FieldSelectors"]}
        for s in trail["AdvancedEventSelectors"]
    }


def alarm(templates: dict, name: str) -> dict:
    (props,) = [p for _, p in resources(templates, "AWS::CloudWatch::Alarm") if p["AlarmName"] == name]
    return props


def test_the_trail_records_every_region_with_iam_and_sts(env):
    _, templates = env
    ((_, trail),) = resources(templates, "AWS::CloudTrail::Trail")
    assert trail["IsMultiRegionTrail"] is True and trail["IncludeGlobalServiceEvents"] is True
    assert trail_selectors(templates)["management events"] == {"eventCategory": {"Equals": ["Management"]}}


def test_the_trail_records_every_item_call_on_the_tables_and_the_erasure_audit(env):
    config, templates = env
    tables = trail_selectors(templates)["tables: every item call"]
    assert tables["eventCategory"] == {"Equals": ["Data"]}
    assert tables["resources.type"] == {"Equals": ["AWS::DynamoDB::Table"]}
    assert "readOnly" not in tables  # reads and writes
    assert tables["resources.ARN"]["Equals"] == [
        f"arn:aws:dynamodb:{config.region}:{config.account}:table/{config.prefix}-{spec.base_name}"
        for spec in (*ALL_TABLES, ERASURE_AUDIT)
    ]


def test_the_trail_records_reads_and_deletes_of_the_access_logs_but_not_its_own_bucket(env):
    config, templates = env
    selectors = trail_selectors(templates)
    logs = selectors["access logs: reads and deletes"]
    assert logs["resources.ARN"] == {"StartsWith": [f"arn:aws:s3:::{bucket_name(config, 'access-logs')}/"]}
    # S3's own log deliveries are writes: recording them would record each delivery in the next one
    assert logs["eventName"] == {"NotEquals": ["PutObject"]}
    # the same loop through the trail's own bucket: it is never a data-event resource
    assert bucket_name(config, "trail") not in json.dumps(selectors)


def test_the_root_user_alarm_counts_root_calls_from_the_trails_log_group(env):
    config, templates = env
    ((_, metric_filter),) = resources(templates, "AWS::Logs::MetricFilter")
    assert metric_filter["LogGroupName"] == trail_log_group_name(config)
    assert metric_filter["FilterPattern"] == ROOT_ACTIVITY_PATTERN
    assert '$.userIdentity.type = "Root"' in ROOT_ACTIVITY_PATTERN
    ((transformation),) = metric_filter["MetricTransformations"]
    root = alarm(templates, f"{config.prefix}-root-activity")
    assert (root["Namespace"], root["MetricName"]) == (TRAIL_METRICS_NAMESPACE, transformation["MetricName"])
    assert root["Threshold"] == config.alarms.root_activity.threshold
    # the trail delivers that log group: the alarm reads what the trail writes
    ((_, trail),) = resources(templates, "AWS::CloudTrail::Trail")
    assert "CloudWatchLogsLogGroupArn" in trail


def test_the_dead_letter_alarm_watches_the_queue_the_event_targets_use(env):
    config, templates = env
    ((_, queue),) = [(i, p) for i, p in resources(templates, "AWS::SQS::Queue")]
    dlq = alarm(templates, f"{config.prefix}-dead-letters")
    assert (dlq["Namespace"], dlq["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": queue["QueueName"]}]
    assert dlq["Statistic"] == "Maximum" and dlq["Threshold"] == config.alarms.dead_letters.threshold


def test_each_function_has_a_throttles_alarm(env):
    config, templates = env
    for base in HANDLERS:
        # a labelled metric is written as a metric query
        ((query),) = alarm(templates, f"{config.prefix}-{base}-throttles")["Metrics"]
        metric = query["MetricStat"]["Metric"]
        assert (metric["Namespace"], metric["MetricName"]) == ("AWS/Lambda", "Throttles")
        assert metric["Dimensions"] == [{"Name": "FunctionName", "Value": f"{config.prefix}-{base}"}]
        assert query["MetricStat"]["Stat"] == "Sum"


def test_jobs_waiting_runnable_are_measured_every_five_minutes_and_alarmed(env):
    config, templates = env
    rules = {p["Name"]: p for _, p in resources(templates, "AWS::Events::Rule")}
    watch = rules[f"{config.prefix}-queue-watch"]
    assert watch["ScheduleExpression"] == QUEUE_WATCH_SCHEDULE == "rate(5 minutes)"
    ((target),) = watch["Targets"]
    assert "queue-watch" in json.dumps(target["Arn"]) or "QueueWatch" in json.dumps(target["Arn"])
    runnable = alarm(templates, f"{config.prefix}-runnable-seconds")
    assert (runnable["MetricName"], runnable["Statistic"], runnable["Period"]) == (
        OLDEST_RUNNABLE_SECONDS.name,
        "Maximum",
        300,
    )
    assert runnable["Dimensions"] == [{"Name": "service", "Value": "queue-watch"}]
    assert runnable["Threshold"] == config.alarms.runnable_seconds.threshold


def test_the_log_group_of_the_task_jobs_has_the_retention_and_the_key(env):
    """The executor's task jobs log to Batch's default group (their output names samples): it is
    created by the app, not left to Batch, which would keep it unencrypted forever."""
    config, templates = env
    groups = {p["LogGroupName"]: p for _, p in resources(templates, "AWS::Logs::LogGroup")}
    default = groups[BATCH_DEFAULT_LOG_GROUP]
    assert default["RetentionInDays"] == config.log_retention_days and "KmsKeyId" in default
