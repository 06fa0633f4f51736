"""AWS Batch: Spot and On-Demand compute, the head and task queues, the Snakemake head job, ECR."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from seqpipe.execution.batch import JOB_DEFINITION_PREFIX_VARIABLE
from seqpipe.orchestration.state_machine import head_job_retry_strategy
from seqpipe_infra import names
from seqpipe_infra.access import grant_bucket
from seqpipe_infra.common import log_group, removal_policy, workflow_role
from seqpipe_infra.compliance import acknowledge
from seqpipe_infra.config import EnvConfig
from seqpipe_infra.host_cache import cache_user_data, cache_volume
from seqpipe_infra.names import bucket_name
from seqpipe_infra.network_stack import NetworkStack
from seqpipe_infra.permissions import Access
from seqpipe_infra.storage_stack import (
    PROCESSED,
    PROCESSED_RUNS_PREFIX,
    PROCESSED_WORK_PREFIX,
    RAW,
    StorageStack,
)

# The head job's command in the image (seqpipe.execution.head_job): it turns the run's environment
# (SEQPIPE_RUN_ID, SEQPIPE_CONFIG_URI, SEQPIPE_OUTPUT_URI, set by the state machine) into the one
# Snakemake command line of seqpipe.execution.command, with --aws-batch-task-timeout set;
# profiles/aws-batch reads the executor settings of the job definition.
HEAD_JOB_COMMAND = ["seqpipe-head-job"]
BATCH_DEFAULT_LOG_GROUP = "/aws/batch/job"


class BatchStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: EnvConfig,
        network: NetworkStack,
        storage: StorageStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.config = config
        key = storage.key

        self.repository = ecr.Repository(
            self,
            "PipelineImage",
            repository_name=f"{config.prefix}/pipeline",
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE
            if config.retain_data
            else ecr.TagMutability.MUTABLE,
            encryption=ecr.RepositoryEncryption.KMS,
            encryption_key=key,
            removal_policy=removal_policy(config),
            lifecycle_rules=[ecr.LifecycleRule(description="keep the last 20 images", max_image_count=20)],
        )

        launch_template = ec2.LaunchTemplate(
            self,
            "HostTemplate",
            # IMDSv2 only, and one hop: the host reaches its metadata (and instance role), a container
            # behind the Docker bridge (one hop more) does not; tasks get their job role from ECS
            require_imdsv2=True,
            http_tokens=ec2.LaunchTemplateHttpTokens.REQUIRED,
            http_put_response_hop_limit=1,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        200, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3
                    ),
                ),
                # the reference bundle, fetched once per host (seqpipe_infra.host_cache)
                cache_volume(),
            ],
            user_data=cache_user_data(),
        )
        self.spot = self._compute_environment("Spot", network, launch_template, spot=True)
        self.on_demand = self._compute_environment("OnDemand", network, launch_template, spot=False)

        # Tasks prefer Spot and spill over to On-Demand; the head job is long-lived and cheap, and a
        # Spot reclaim would restart the whole run's bookkeeping, so it stays On-Demand.
        self.task_queue = batch.JobQueue(
            self,
            "TaskQueue",
            job_queue_name=f"{config.prefix}-tasks",
            compute_environments=[
                batch.OrderedComputeEnvironment(compute_environment=self.spot, order=1),
                batch.OrderedComputeEnvironment(compute_environment=self.on_demand, order=2),
            ],
        )
        self.head_queue = batch.JobQueue(
            self,
            "HeadQueue",
            job_queue_name=f"{config.prefix}-head",
            compute_environments=[
                batch.OrderedComputeEnvironment(compute_environment=self.on_demand, order=1)
            ],
        )

        ecs_tasks = iam.ServicePrincipal("ecs-tasks.amazonaws.com")
        self.task_role = workflow_role(self, "TaskRole", config, ecs_tasks, "Snakemake jobs on AWS Batch")
        self.head_role = workflow_role(
            self, "HeadRole", config, ecs_tasks, "Snakemake head job (aws-batch executor)"
        )
        # Head and tasks see the same data: inputs in raw, the run's files in processed.
        for role in (self.task_role, self.head_role):
            grant_bucket(role, bucket_name(config, RAW), key, Access.READ)
            for prefix in (PROCESSED_RUNS_PREFIX, PROCESSED_WORK_PREFIX):
                grant_bucket(role, bucket_name(config, PROCESSED), key, Access.READ, prefix)
                grant_bucket(role, bucket_name(config, PROCESSED), key, Access.WRITE, prefix)
        self._allow_head_to_drive_batch()

        logs = log_group(self, "JobLogs", config, f"/seqpipe/{config.environment}/batch", key)
        # Batch's default group, where the executor's task jobs log: created here for the retention and
        # the key (Batch would create it unencrypted and keep it forever)
        log_group(self, "DefaultJobLogs", config, BATCH_DEFAULT_LOG_GROUP, key)
        image = f"{self.repository.repository_uri}:{config.batch.image_tag}"
        retry = head_job_retry_strategy(config.batch.head_attempts)
        self.head_job = batch.EcsJobDefinition(
            self,
            "HeadJob",
            job_definition_name=f"{config.prefix}-head",
            propagate_tags=True,
            # a lost host is retried, the pipeline's own failure is not (the package's strategy)
            retry_attempts=retry["attempts"],
            retry_strategies=[
                batch.RetryStrategy.of(
                    batch.Action[rule["action"]],
                    batch.Reason.custom(
                        on_status_reason=rule.get("onStatusReason"),
                        on_reason=rule.get("onReason"),
                        on_exit_code=rule.get("onExitCode"),
                    ),
                )
                for rule in retry["evaluateOnExit"]
            ],
            timeout=cdk.Duration.seconds(config.batch.head_timeout_seconds),
            container=batch.EcsEc2ContainerDefinition(
                self,
                "HeadContainer",
                image=ecs.ContainerImage.from_ecr_repository(self.repository, config.batch.image_tag),
                cpu=config.batch.head_vcpus,
                memory=cdk.Size.mebibytes(config.batch.head_memory_mb),
                command=HEAD_JOB_COMMAND,
                job_role=self.head_role,
                readonly_root_filesystem=False,
                logging=ecs.LogDriver.aws_logs(stream_prefix="batch", log_group=logs),
                environment={
                    # read by the aws-batch executor plugin itself
                    "SNAKEMAKE_AWS_BATCH_JOB_QUEUE": self.task_queue.job_queue_arn,
                    "SNAKEMAKE_AWS_BATCH_JOB_ROLE": self.task_role.role_arn,
                    # read by profiles/aws-batch (the plugin's region, task timeout and image); the
                    # timeout is also required by seqpipe-head-job, which passes it explicitly
                    "SEQPIPE_AWS_REGION": config.region,
                    "SEQPIPE_TASK_TIMEOUT_SECONDS": str(config.batch.task_timeout_seconds),
                    "SEQPIPE_CONTAINER_IMAGE": image,
                    # the name prefix of the task job definitions (seqpipe.execution.batch)
                    JOB_DEFINITION_PREFIX_VARIABLE: config.prefix,
                },
            ),
        )
        execution_role = self.head_job.container.execution_role
        acknowledge(
            execution_role,
            "ecr:GetAuthorizationToken supports no resource-level scoping; image pulls are limited to this "
            "repository and log writes to this job's log group.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        for name, value in {
            "TaskQueueArn": self.task_queue.job_queue_arn,
            "HeadQueueArn": self.head_queue.job_queue_arn,
            "HeadJobDefinitionArn": self.head_job.job_definition_arn,
            "RepositoryUri": self.repository.repository_uri,
        }.items():
            cdk.CfnOutput(self, name, value=value)

    def _compute_environment(
        self, id: str, network: NetworkStack, template: ec2.LaunchTemplate, *, spot: bool
    ) -> batch.ManagedEc2EcsComputeEnvironment:
        batch_config = self.config.batch
        environment = batch.ManagedEc2EcsComputeEnvironment(
            self,
            id,
            compute_environment_name=f"{self.config.prefix}-{id.lower()}",
            vpc=network.vpc,
            vpc_subnets=network.subnets,
            security_groups=[network.workload_sg],
            spot=spot,
            allocation_strategy=batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED
            if spot
            else batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
            instance_classes=[ec2.InstanceClass(cls.upper()) for cls in batch_config.instance_types],
            use_optimal_instance_classes=False,
            minv_cpus=0,
            maxv_cpus=batch_config.spot_max_vcpus if spot else batch_config.on_demand_max_vcpus,
            launch_template=template,
            update_to_latest_image_version=True,
            replace_compute_environment=False,
        )
        acknowledge(
            environment,
            "AmazonEC2ContainerServiceforEC2Role is the AWS-maintained policy Batch/ECS hosts need to "
            "register with the cluster; it grants no access to the data buckets or tables.",
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]",
        )
        return environment

    def _allow_head_to_drive_batch(self) -> None:
        """What the aws-batch executor does: one job definition per job, submit, poll, clean up.

        The head job could otherwise register a privileged definition, or one running any image, and
        submit it with the task role: definitions are registered only under this deployment's prefix,
        non-privileged, with an image of this deployment's repository (seqpipe.execution.batch makes
        the executor's requests so).
        """
        config = self.config
        job_definitions = names.task_job_definitions_arn(config)
        self.head_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RegisterTaskJobDefinitions",
                actions=["batch:RegisterJobDefinition"],
                resources=[job_definitions],
                conditions=names.task_job_definition_conditions(config),
            )
        )
        self.head_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="TaskJobDefinitions",
                actions=["batch:DeregisterJobDefinition", "batch:TagResource"],
                resources=[job_definitions],
            )
        )
        self.head_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="SnakemakeJobs",
                actions=["batch:SubmitJob", "batch:TagResource"],
                resources=[self.task_queue.job_queue_arn, job_definitions],
            )
        )
        # the head job terminates the task jobs of its run (and those an earlier attempt left running)
        jobs = f"arn:aws:batch:{config.region}:{config.account}:job/*"
        self.head_role.add_to_principal_policy(
            iam.PolicyStatement(sid="TerminateJobs", actions=["batch:TerminateJob"], resources=[jobs])
        )
        self.head_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="SnakemakeJobStatus",
                actions=["batch:DescribeJobs", "batch:DescribeJobDefinitions", "batch:ListJobs"],
                resources=["*"],
            )
        )
        self.head_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassTaskRole",
                actions=["iam:PassRole"],
                resources=[self.task_role.role_arn],
                # RegisterJobDefinition passes the job role to Batch, which hands it to ECS tasks
                conditions={
                    "StringEquals": {
                        "iam:PassedToService": ["batch.amazonaws.com", "ecs-tasks.amazonaws.com"]
                    }
                },
            )
        )
        acknowledge(
            self.head_role,
            "The executor registers one job definition per Snakemake job (<prefix>-snakejob-def-<rule>-"
            "<uuid>), non-privileged and from this deployment's repository (conditions); job ids are "
            "assigned by Batch, so TerminateJob is scoped to this account's job ARNs; DescribeJobs, "
            "DescribeJobDefinitions and ListJobs support no resource-level scoping.",
            f"AwsSolutions-IAM5[Resource::{job_definitions}]",
            f"AwsSolutions-IAM5[Resource::{jobs}]",
            "AwsSolutions-IAM5[Resource::*]",
        )
