"""Alerts topic, dashboard, alarms, budgets: what on-call watches (docs/infrastructure.md, runbooks)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from seqpipe.handlers.registry import (
    BYTES_VALIDATED,
    HANDLERS,
    METRICS_NAMESPACE,
    OBJECTS_QUARANTINED,
    QC_FAILURES,
    SAMPLES_DELIVERED,
    SAMPLES_QC_PASSED,
    CustomMetric,
)
from seqpipe_infra.common import cost_tags
from seqpipe_infra.config import EnvConfig
from seqpipe_infra.names import alerts_topic_name, function_name, state_machine_name


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
        lambda_durations = [self._lambda_metric(base, "Duration", "p95") for base in HANDLERS]
        # (construct id, alarm name, metric, runbook hint, roll deployments back when it fires)
        specs = [
            (
                "RunFailures",
                f"{config.prefix}-run-failures",
                executions["ExecutionsFailed"],
                "failed run",
                True,
            ),
            (
                "RunTimeouts",
                f"{config.prefix}-run-timeouts",
                executions["ExecutionsTimedOut"],
                "failed run",
                True,
            ),
            # QC failures are about samples, not about a deployment: they never roll one back.
            ("QcFailures", f"{config.prefix}-qc-failures", _custom(QC_FAILURES), "failed run", False),
        ] + [
            (
                f"LambdaErrors{_camel(base)}",
                f"{function_name(config, base)}-errors",
                metric,
                "quarantined file",
                True,
            )
            for base, metric in zip(HANDLERS, lambda_errors, strict=True)
        ]
        action = cw_actions.SnsAction(self.alerts)
        alarms: list[cw.IAlarm] = []
        rollback_arns: list[str] = []
        for construct_id, alarm_name, metric, runbook, rolls_back in specs:
            alarm = cw.Alarm(
                self,
                construct_id,
                alarm_name=alarm_name,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description=f"{alarm_name} (runbook: {runbook}, docs/infrastructure.md)",
            )
            alarm.add_alarm_action(action)
            # Referenced by ARN, not by token: the dashboard and the deploy script need no GetAtt.
            arn = self.format_arn(
                service="cloudwatch",
                resource="alarm",
                resource_name=alarm_name,
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            )
            alarms.append(cw.Alarm.from_alarm_arn(self, f"{construct_id}ByArn", arn))
            if rolls_back:
                rollback_arns.append(arn)
        # scripts/deploy.sh passes these as CloudFormation rollback triggers.
        cdk.CfnOutput(self, "RollbackAlarmArns", value=",".join(rollback_arns))

        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"{config.prefix}-pipeline")
        dashboard.add_widgets(
            cw.GraphWidget(title="Runs", left=list(executions.values()), width=12),
            cw.GraphWidget(title="Lambda errors", left=lambda_errors, width=12),
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

    def _lambda_metric(self, base: str, name: str, statistic: str) -> cw.Metric:
        return cw.Metric(
            namespace="AWS/Lambda",
            metric_name=name,
            dimensions_map={"FunctionName": function_name(self.config, base)},
            statistic=statistic,
            period=cdk.Duration.minutes(5),
            label=base,
        )


def _custom(metric: CustomMetric) -> cw.Metric:
    """A handler's metric as its Powertools EMF lines publish it, summed per hour."""
    return cw.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=metric.name,
        dimensions_map={"service": metric.function},
        statistic="Sum",
        period=cdk.Duration.hours(1),
    )


def _camel(base: str) -> str:
    return "".join(part.capitalize() for part in base.split("-"))
