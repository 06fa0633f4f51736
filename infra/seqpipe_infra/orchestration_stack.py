"""The Lambdas, the run state machine and the EventBridge rules that start things (and end runs)."""

from __future__ import annotations

import json
from dataclasses import replace

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from seqpipe.aws.settings import Settings
from seqpipe.aws.tables import JOBS, METADATA, QUALITY, TableSpec
from seqpipe.handlers.registry import HANDLERS, JOB_QUEUE_READERS
from seqpipe.orchestration.state_machine import (
    RetryPolicy,
    StateMachineRefs,
    build_definition,
    run_ended_pattern,
)
from seqpipe_infra.access import acknowledge_unscoped, grant_bucket, grant_publish, grant_table
from seqpipe_infra.batch_stack import BatchStack
from seqpipe_infra.common import event_pattern, log_group, workflow_role
from seqpipe_infra.compliance import acknowledge
from seqpipe_infra.config import EnvConfig
from seqpipe_infra.data_stack import DataStack
from seqpipe_infra.lambda_assets import RUNTIME, dependency_layer, package_code
from seqpipe_infra.names import (
    bucket_name,
    dead_letter_queue_name,
    deployed_settings,
    function_name,
    state_machine_name,
    table_name,
)
from seqpipe_infra.network_stack import NetworkStack
from seqpipe_infra.permissions import Access, table_arn
from seqpipe_infra.storage_stack import DELIVERY, PROCESSED, QUARANTINE_PREFIX, RAW, StorageStack

# What Lambda needs of a function's role to attach it to the VPC (the actions of AWS's
# AWSLambdaVPCAccessExecutionRole, whose logs actions on "*" are replaced by the function's log group).
_VPC_ENI_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]
VCF_SUFFIXES = (".vcf", ".vcf.gz", ".bcf")
# What each handler touches; everything else is denied by omission (docs/infrastructure.md, "IAM").
# The table grants are exactly the DynamoDB requests each deployed function makes
# (tests/test_local_deploy.py, test_each_lambda_may_touch_exactly_the_tables_its_handler_touches).
# A third element narrows the access to some of its actions.
HandlerGrant = tuple[str | TableSpec, Access] | tuple[str | TableSpec, Access, tuple[str, ...]]
HANDLER_ACCESS: dict[str, list[HandlerGrant]] = {
    "validation-handler": [
        (RAW, Access.READ),
        # the quarantine tag only (seqpipe.aws.quarantine): no workload role deletes or rewrites raw data
        (RAW, Access.WRITE, ("s3:PutObjectTagging", "s3:PutObjectVersionTagging")),
        (METADATA, Access.READ),  # a duplicate event reads the record it would have written
        (METADATA, Access.WRITE),
        (JOBS, Access.READ),  # each object version's validation task, claimed once
        (JOBS, Access.WRITE),
    ],
    "vcf-processor": [(RAW, Access.READ), (PROCESSED, Access.READ), (PROCESSED, Access.WRITE)],
    "quality-metrics": [(PROCESSED, Access.READ), (QUALITY, Access.WRITE)],  # reads the run's qc_summary.json
    "metadata-updater": [
        (PROCESSED, Access.READ),
        (DELIVERY, Access.READ),
        (DELIVERY, Access.WRITE),
        (JOBS, Access.READ),
        (JOBS, Access.WRITE),
        (METADATA, Access.WRITE),  # conditional writes only: a sample's status is never read back
    ],
    # reads the run's owner, marks the run it owns; its Batch access is in _allow_run_cleanup
    "run-cleanup": [(JOBS, Access.READ), (JOBS, Access.WRITE)],
    "queue-watch": [],  # no data: it lists the queues' RUNNABLE jobs (batch:ListJobs only)
}
# How often the queue watch publishes the age of the oldest RUNNABLE job (the alarm's period).
QUEUE_WATCH_SCHEDULE = "rate(5 minutes)"
# The X-Ray APIs of active tracing and the EC2 calls Lambda makes for the function's network interfaces
# (every function's role) support no resource-level permissions.
_TRACING_REASON = (
    "X-Ray PutTraceSegments and PutTelemetryRecords (active tracing) and the EC2 network-interface calls "
    "Lambda makes to place the function in the VPC support no resource-level permissions"
)


class OrchestrationStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: EnvConfig,
        network: NetworkStack,
        storage: StorageStack,
        data: DataStack,
        compute: BatchStack,
        alerts: sns.ITopic,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.config = config
        key = storage.key
        # Literal names: policies and the audit can name every bucket and table (see access.py).
        settings = deployed_settings(config, alerts.topic_arn)
        self.add_stack_dependency(data)

        self.dead_letters = self._queue("DeadLetters", dead_letter_queue_name(config), key)
        layer = dependency_layer(self, "Dependencies")
        code = package_code()
        # only the run cleanup and the queue watch read the queues of the runs' jobs, head queue first
        job_queues = (compute.head_queue.job_queue_arn, compute.task_queue.job_queue_arn)
        environments = {base: settings for base in HANDLERS} | {
            base: replace(settings, job_queues=job_queues) for base in JOB_QUEUE_READERS
        }
        self.functions: dict[str, lambda_.Function] = {}
        for base, handler in HANDLERS.items():
            role = workflow_role(
                self,
                f"{_camel(base)}Role",
                config,
                iam.ServicePrincipal("lambda.amazonaws.com"),
                f"Lambda {base}",
            )
            logs = log_group(
                self, f"{_camel(base)}Logs", config, f"/aws/lambda/{function_name(config, base)}", key
            )
            role.add_to_principal_policy(iam.PolicyStatement(actions=_VPC_ENI_ACTIONS, resources=["*"]))
            # its own log group only (the managed policy would allow writing to every log group)
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[logs.log_group_arn]
                )
            )
            for resource, access, *narrowed in HANDLER_ACCESS[base]:
                only = narrowed[0] if narrowed else ()
                if isinstance(resource, TableSpec):
                    grant_table(role, config, table_name(config, resource), key, access, only=only)
                else:
                    grant_bucket(role, bucket_name(config, resource), key, access, only=only)
            grant_publish(role, alerts, key)
            function = lambda_.Function(
                self,
                _camel(base),
                function_name=function_name(config, base),
                runtime=RUNTIME,
                handler=handler,
                code=code,
                layers=[layer],
                role=role,
                memory_size=config.lambdas.memory_mb,
                timeout=cdk.Duration.seconds(config.lambdas.timeout_seconds),
                reserved_concurrent_executions=config.lambdas.reserved_concurrency,
                environment={**environments[base].environment(), "POWERTOOLS_LOG_LEVEL": "INFO"},
                vpc=network.vpc,
                vpc_subnets=network.subnets,
                security_groups=[network.workload_sg],
                tracing=lambda_.Tracing.ACTIVE,
                dead_letter_queue=self.dead_letters,
                log_group=logs,
            )
            if base == "run-cleanup":
                self._allow_run_cleanup(role)
            elif base == "queue-watch":
                role.add_to_principal_policy(iam.PolicyStatement(actions=["batch:ListJobs"], resources=["*"]))
                acknowledge_unscoped(
                    role,
                    f"{_TRACING_REASON}; Batch ListJobs supports none either (the queue is a parameter).",
                )
            else:
                acknowledge_unscoped(role, f"{_TRACING_REASON}; no other statement of this role uses '*'.")
            self.functions[base] = function

        self.state_machine = self._state_machine(settings, compute, alerts, key)
        self._rules(settings)
        cdk.CfnOutput(self, "StateMachineArn", value=self.state_machine.state_machine_arn)

    def _allow_run_cleanup(self, role: iam.Role) -> None:
        """Find a run's jobs (list the queues' active jobs, describe them) and terminate them."""
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["batch:ListJobs", "batch:DescribeJobs"], resources=["*"])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["batch:TerminateJob"], resources=[self._jobs_arn])
        )
        acknowledge_unscoped(
            role,
            f"{_TRACING_REASON}; Batch ListJobs and DescribeJobs support none either, and this role's "
            "only other '*' is that of job ARNs below.",
        )
        self._acknowledge_job_arns(role, "a run's Batch jobs are known only when the run ends")

    @property
    def _jobs_arn(self) -> str:
        return self.format_arn(service="batch", resource="job", resource_name="*")

    def _acknowledge_job_arns(self, role: iam.Role, why: str) -> None:
        """Batch job ids are generated at submission: TerminateJob can name no job in advance."""
        acknowledge(
            role,
            f"Batch job ids are generated at submission ({why}); TerminateJob is limited to the job ARNs "
            "of this account and region.",
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:{self.region}:{self.account}:job/*]",
        )

    def _queue(self, id: str, name: str, key: kms.IKey) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            id,
            queue_name=name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        key.grant(iam.ServicePrincipal("events.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey")
        return queue

    def _state_machine(self, settings: Settings, compute: BatchStack, alerts: sns.ITopic, key: kms.IKey):
        run = self.config.run
        refs = StateMachineRefs(
            validation_function_arn=self.functions["validation-handler"].function_arn,
            quality_metrics_function_arn=self.functions["quality-metrics"].function_arn,
            metadata_updater_function_arn=self.functions["metadata-updater"].function_arn,
            jobs_table=settings.jobs_table,
            job_queue_arn=compute.head_queue.job_queue_arn,
            job_definition_arn=compute.head_job.job_definition_arn,
            alert_topic_arn=alerts.topic_arn,
            processed_bucket=settings.processed_bucket,
            delivery_bucket=settings.delivery_bucket,
            service_retry=RetryPolicy(
                interval_seconds=run.service_retry.interval_seconds,
                max_attempts=run.service_retry.max_attempts,
                backoff_rate=run.service_retry.backoff_rate,
                max_delay_seconds=run.service_retry.max_delay_seconds,
                jitter=True,
            ),
            workflow_timeout_seconds=run.workflow_timeout_seconds,
            timeout_seconds=run.timeout_seconds,
        )
        role = iam.Role(self, "StateMachineRole", assumed_by=iam.ServicePrincipal("states.amazonaws.com"))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[
                    self.functions[base].function_arn
                    for base in ("validation-handler", "quality-metrics", "metadata-updater")
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["batch:SubmitJob"],
                resources=[compute.head_queue.job_queue_arn, compute.head_job.job_definition_arn],
            )
        )
        # DescribeJobs polls the head job (submitJob.sync); TerminateJob stops it when the execution ends
        role.add_to_policy(iam.PolicyStatement(actions=["batch:DescribeJobs"], resources=["*"]))
        role.add_to_policy(iam.PolicyStatement(actions=["batch:TerminateJob"], resources=[self._jobs_arn]))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    self.format_arn(
                        service="events",
                        resource="rule",
                        resource_name="StepFunctionsGetEventsForBatchJobsRule",
                    )
                ],
            )
        )
        # MarkFailed writes the job record directly (no Lambda on the failure path).
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["dynamodb:UpdateItem"], resources=[table_arn(self.config, settings.jobs_table)]
            )
        )
        grant_publish(role, alerts, key)
        machine = sfn.StateMachine(
            self,
            "RunStateMachine",
            state_machine_name=state_machine_name(self.config),
            definition_body=sfn.DefinitionBody.from_string(json.dumps(build_definition(refs))),
            role=role,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=log_group(
                    self,
                    "StateMachineLogs",
                    self.config,
                    f"/aws/vendedlogs/states/{state_machine_name(self.config)}",
                    key,
                ),
                level=sfn.LogLevel.ALL,
                include_execution_data=True,
            ),
        )
        acknowledge_unscoped(
            role,
            "Batch DescribeJobs, X-Ray and the CloudWatch Logs delivery APIs support no resource-level "
            "scoping; TerminateJob has its own statement, on job ARNs.",
        )
        self._acknowledge_job_arns(role, "the head job's id is known only once the execution submitted it")
        return machine

    def _target(self, function: lambda_.IFunction) -> targets.LambdaFunction:
        """Lambda target with retries and the dead-letter queue (S3 events are not replayable)."""
        return targets.LambdaFunction(
            function,
            dead_letter_queue=self.dead_letters,
            retry_attempts=4,
            max_event_age=cdk.Duration.hours(2),
        )

    def _rules(self, settings: Settings) -> None:
        ended = run_ended_pattern(self.state_machine.state_machine_arn)
        events.Rule(
            self,
            "RunEnded",
            rule_name=f"{self.config.prefix}-run-ended",
            description="A run's execution failed, timed out or was stopped: end the run, terminate its jobs",
            event_pattern=event_pattern(ended),
            targets=[self._target(self.functions["run-cleanup"])],
        )
        # S3's "Object Created" events of raw: every upload is validated (quarantined ones aside), and
        # VCF/BCF uploads are also normalized, indexed and summarized
        raw_rules = {
            "RawObjectCreated": (
                "raw-object-created",
                "A new object in the raw bucket is validated",
                [{"anything-but": {"prefix": QUARANTINE_PREFIX}}],
                "validation-handler",
            ),
            "RawVcfCreated": (
                "raw-vcf-created",
                "A new VCF/BCF in the raw bucket is normalized, indexed and summarized",
                [{"suffix": suffix} for suffix in VCF_SUFFIXES],
                "vcf-processor",
            ),
        }
        for id, (name, description, keys, function) in raw_rules.items():
            created = {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {"bucket": {"name": [settings.raw_bucket]}, "object": {"key": keys}},
            }
            events.Rule(
                self,
                id,
                rule_name=f"{self.config.prefix}-{name}",
                description=description,
                event_pattern=event_pattern(created),
                targets=[self._target(self.functions[function])],
            )
        events.Rule(
            self,
            "QueueWatchSchedule",
            rule_name=f"{self.config.prefix}-queue-watch",
            description="Publish the age of the oldest Batch job waiting RUNNABLE (Batch publishes none)",
            schedule=events.Schedule.expression(QUEUE_WATCH_SCHEDULE),
            targets=[self._target(self.functions["queue-watch"])],
        )
        schedule = self.config.schedule
        events.Rule(
            self,
            "ScheduledRun",
            rule_name=f"{self.config.prefix}-scheduled-run",
            description="Scheduled pipeline run with its run config in the raw bucket (configs/)",
            schedule=events.Schedule.expression(schedule.expression),
            enabled=schedule.enabled,
            targets=[
                targets.SfnStateMachine(
                    self.state_machine,
                    input=events.RuleTargetInput.from_object(
                        {
                            "run_id": f"scheduled-{events.EventField.from_path('$.id')}",
                            "project": schedule.project,
                            "samples": list(schedule.samples),
                            "inputs": [],
                            "config_uri": f"s3://{settings.raw_bucket}/{schedule.config_key}",
                        }
                    ),
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=4,
                    max_event_age=cdk.Duration.hours(2),
                )
            ],
        )


def _camel(base: str) -> str:
    return "".join(part.capitalize() for part in base.split("-"))
