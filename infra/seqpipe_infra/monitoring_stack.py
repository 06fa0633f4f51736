"""Alerts topic, dashboard, alarms, budgets: what on-call watches (docs/infrastructure.md, runbooks)."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from seqpipe.handlers.registry import (
    BYTES_VALIDATED,
    HANDLERS,
    JOBS_TERMINATED,
    METRICS_NAMESPACE,
    OBJECTS_QUARANTINED,
    OLDEST_RUNNABLE_SECONDS,
    QC_FAILURES,
    RUN_TIMEOUTS,
    SAMPLES_DELIVERED,
    SAMPLES_QC_PASSED,
    CustomMetric,
)
from seqpipe_infra.common import cost_tags
from seqpipe_infra.config import AlarmTrigger, EnvConfig
from seqpipe_infra.names import (
    alerts_topic_name,
    dead_letter_queue_name,
    function_name,
    state_machine_name,
    trail_log_group_name,
)

# Runs are watched per 5 minutes, like Step Functions' execution metrics.
_RUN_PERIOD = cdk.Duration.minutes(5)
# The runbook of a Lambda's errors alarm (others: "quarantined file").
_ERROR_RUNBOOKS = {"run-cleanup": "failed run", "queue-watch": "jobs waiting for capacity"}

# A call made with the root user's credentials or a root console sign-in (CIS AWS Foundations 1.7):
# AWS services acting for the account are left out.
ROOT_ACTIVITY_PATTERN = (
    '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
    '&& $.eventType != "AwsServiceEvent" }'
)
TRAIL_METRICS_NAMESPACE = f"{METRICS_NAMESPACE}/trail"


@dataclass(frozen=True)
class AlarmSpec:
    """An alarm that notifies the alert topic."""

    construct_id: str
    alarm_name: str
    metric: cw.IMetric
    trigger: AlarmTrigger  # threshold and evaluation periods, from the environment's config
    runbook: str  # the runbook of docs/infrastructure.md that on-call follows
    rolls_back: bool  # a rollback trigger of every deployment (scripts/deploy.sh)


class MonitoringStack(cdk.Stack):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, key: kms.IKey, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        self.config = config
        self.alerts = sns.Topic(
            self, "Alerts", topic_name=alerts_topic_name(config), master_key=key, enforce_ssl=True
        )
        for email in config.alert_emails:
            self.alerts.add_subscription(subscriptions.EmailSubscription(email))
        # Budgets and CloudWatch alarms publish to the encrypted topic.
        for service in ("budgets.amazonaws.com", "cloudwatch.amazonaws.com"):
            self.alerts.add_to_resource_policy(
                iam.PolicyStatement(
                    actions=["sns:Publish"],
                    principals=[iam.ServicePrincipal(service)],
                    resources=[self.alerts.topic_arn],
                    conditions={"StringEquals": {"aws:SourceAccount": self.account}},
                )
            )
            key.grant(iam.ServicePrincipal(service), "kms:Decrypt", "kms:GenerateDataKey")

        sm_arn = self.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=state_machine_name(config),
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        executions = {
            name: cw.Metric(
                namespace="AWS/States",
                metric_name=name,
                dimensions_map={"StateMachineArn": sm_arn},
                statistic="Sum",
                period=cdk.Duration.minutes(5),
            )
            for name in ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut")
        }
        lambda_errors = [self._lambda_metric(base, "Errors", "Sum") for base in HANDLERS]
        lambda_throttles = [self._lambda_metric(base, "Throttles", "Sum") for base in HANDLERS]
        lambda_durations = [self._lambda_metric(base, "Duration", "p95") for base in HANDLERS]
        triggers = config.alarms
        specs = (
            [
                _run_alarm(config, "run-failures", executions["ExecutionsFailed"], triggers.run_failures),
                # A timed-out head job is caught (the run ends FAILED with its cause), so Step Functions'
                # ExecutionsTimedOut would miss it: the run cleanup counts both kinds of timeout.
                _run_alarm(config, "run-timeouts", _custom(RUN_TIMEOUTS, _RUN_PERIOD), triggers.run_timeouts),
                # QC failures are about samples, not about a deployment: they never roll one back.
                _run_alarm(
                    config, "qc-failures", _custom(QC_FAILURES), triggers.qc_failures, rolls_back=False
                ),
            ]
            + [
                # throttles: reserved concurrency reached, S3 events wait in EventBridge's retries, then
                # the DLQ
                AlarmSpec(
                    construct_id=f"Lambda{kind}{_camel(base)}",
                    alarm_name=f"{function_name(config, base)}-{kind.lower()}",
                    metric=metric,
                    trigger=trigger,
                    runbook=runbooks.get(base, default),
                    rolls_back=True,
                )
                for kind, metrics, trigger, runbooks, default in (
                    ("Errors", lambda_errors, triggers.lambda_errors, _ERROR_RUNBOOKS, "quarantined file"),
                    ("Throttles", lambda_throttles, triggers.lambda_throttles, {}, "throttled function"),
                )
                for base, metric in zip(HANDLERS, metrics, strict=True)
            ]
            + self._detection_alarms()
        )
        action = cw_actions.SnsAction(self.alerts)
        alarms: list[cw.IAlarm] = []
        rollback_arns: list[str] = []
        for spec in specs:
            alarm = cw.Alarm(
                self,
                spec.construct_id,
                alarm_name=spec.alarm_name,
                metric=spec.metric,
                threshold=spec.trigger.threshold,
                evaluation_periods=spec.trigger.evaluation_periods,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description=f"{spec.alarm_name} (runbook: {spec.runbook}, docs/infrastructure.md)",
            )
            alarm.add_alarm_action(action)
            # Referenced by ARN, not by token: the dashboard and the deploy script need no GetAtt.
            arn = self.format_arn(
                service="cloudwatch",
                resource="alarm",
                resource_name=spec.alarm_name,
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            )
            alarms.append(cw.Alarm.from_alarm_arn(self, f"{spec.construct_id}ByArn", arn))
            if spec.rolls_back:
                rollback_arns.append(arn)
        # scripts/deploy.sh passes these as CloudFormation rollback triggers.
        cdk.CfnOutput(self, "RollbackAlarmArns", value=",".join(rollback_arns))

        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"{config.prefix}-pipeline")
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Runs (right: timed out, Batch jobs terminated at a run's end)",
                left=list(executions.values()),
                right=[_custom(m, _RUN_PERIOD) for m in (RUN_TIMEOUTS, JOBS_TERMINATED)],
                width=12,
            ),
            cw.GraphWidget(
                title="Lambda errors (right: throttles)", left=lambda_errors, right=lambda_throttles, width=12
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(title="Lambda duration p95", left=lambda_durations, width=12),
            cw.GraphWidget(
                title="Batch head jobs (Step Functions batch:submitJob.sync)",
                left=[
                    cw.Metric(
                        namespace="AWS/States",
                        metric_name=name,
                        dimensions_map={
                            "ServiceIntegrationResourceArn": "arn:aws:states:::batch:submitJob.sync"
                        },
                        statistic="Sum",
                        period=cdk.Duration.minutes(5),
                    )
                    for name in (
                        "ServiceIntegrationsScheduled",
                        "ServiceIntegrationsSucceeded",
                        "ServiceIntegrationsFailed",
                    )
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Samples: QC passed, QC failed, delivered",
                left=[_custom(m) for m in (SAMPLES_QC_PASSED, QC_FAILURES, SAMPLES_DELIVERED)],
                width=12,
            ),
            cw.GraphWidget(
                title="Raw data validated (bytes) and quarantined objects",
                left=[_custom(BYTES_VALIDATED)],
                right=[_custom(OBJECTS_QUARANTINED)],
                width=12,
            ),
            cw.AlarmStatusWidget(title="Alarms", alarms=alarms, width=24),
        )

        budgets.CfnBudget(
            self,
            "MonthlyBudget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=f"{config.prefix}-monthly",
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=config.budget.monthly_usd, unit="USD"),
                cost_filters={"TagKeyValue": [f"user:environment${config.environment}"]},
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        comparison_operator="GREATER_THAN",
                        notification_type=kind,
                        threshold=threshold,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=[
                        budgets.CfnBudget.SubscriberProperty(
                            subscription_type="SNS", address=self.alerts.topic_arn
                        )
                    ],
                )
                for threshold in config.budget.thresholds_percent
                for kind in ("ACTUAL", "FORECASTED")
            ],
            resource_tags=[
                budgets.CfnBudget.ResourceTagProperty(key=k, value=v) for k, v in cost_tags(config).items()
            ],
        )
        cdk.CfnOutput(self, "AlertTopicArn", value=self.alerts.topic_arn)

    def _detection_alarms(self) -> list[AlarmSpec]:
        """What waits or should not happen at all: events no Lambda took, jobs no host takes, the root
        user. None is about a deployment, so none rolls one back."""
        config, triggers = self.config, self.config.alarms
        dead_letters = cw.Metric(
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions_map={"QueueName": dead_letter_queue_name(config)},
            statistic="Maximum",
            period=_RUN_PERIOD,
        )
        root = logs.MetricFilter(
            self,
            "RootActivityFilter",
            log_group=logs.LogGroup.from_log_group_name(self, "TrailLogs", trail_log_group_name(config)),
            filter_pattern=logs.FilterPattern.literal(ROOT_ACTIVITY_PATTERN),
            metric_namespace=TRAIL_METRICS_NAMESPACE,
            metric_name="RootActivity",
            metric_value="1",
        )
        return [
            AlarmSpec("DeadLetters", f"{config.prefix}-dead-letters", dead_letters, triggers.dead_letters,
                      "dead letters", rolls_back=False),
            AlarmSpec("RunnableSeconds", f"{config.prefix}-runnable-seconds",
                      _custom(OLDEST_RUNNABLE_SECONDS, _RUN_PERIOD, "Maximum"), triggers.runnable_seconds,
                      "jobs waiting for capacity", rolls_back=False),
            AlarmSpec("RootActivity", f"{config.prefix}-root-activity",
                      root.metric(statistic="Sum", period=_RUN_PERIOD), triggers.root_activity,
                      "root user activity", rolls_back=False),
        ]  # fmt: skip

    def _lambda_metric(self, base: str, name: str, statistic: str) -> cw.Metric:
        return cw.Metric(
            namespace="AWS/Lambda",
            metric_name=name,
            dimensions_map={"FunctionName": function_name(self.config, base)},
            statistic=statistic,
            period=cdk.Duration.minutes(5),
            label=base,
        )


def _run_alarm(
    config: EnvConfig, slug: str, metric: cw.IMetric, trigger: AlarmTrigger, rolls_back: bool = True
) -> AlarmSpec:
    """An alarm about runs, `<prefix>-<slug>`, whose runbook is "failed run"."""
    return AlarmSpec(
        construct_id=_camel(slug),
        alarm_name=f"{config.prefix}-{slug}",
        metric=metric,
        trigger=trigger,
        runbook="failed run",
        rolls_back=rolls_back,
    )


def _custom(metric: CustomMetric, period: cdk.Duration | None = None, statistic: str = "Sum") -> cw.Metric:
    """A handler's metric as its Powertools EMF lines publish it, summed (or `statistic`) per `period`
    (an hour)."""
    return cw.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=metric.name,
        dimensions_map={"service": metric.function},
        statistic=statistic,
        period=period or cdk.Duration.hours(1),
    )


def _camel(base: str) -> str:
    return "".join(part.capitalize() for part in base.split("-"))
