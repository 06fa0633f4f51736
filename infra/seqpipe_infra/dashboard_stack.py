"""The web dashboard: Cognito sign-in at an Application Load Balancer (WAF in front), the app on Fargate.

Users reach the load balancer on HTTPS; its listener signs them in with the Cognito user pool before
forwarding anything, and passes their claims in a header the load balancer signs
(`x-amzn-oidc-data`). The app (`seqpipe dashboard serve` with SEQPIPE_DASHBOARD_AUTH=alb) checks that
signature, so reaching a task without the load balancer gives nothing (src/seqpipe/web/auth.py).
The tasks read the three tables (GetItem, Query), presign MultiQC reports in the processed bucket and
read delivery manifests; nothing else.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_elasticloadbalancingv2_actions as elbv2_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from seqpipe.aws.layout import MANIFEST_NAME
from seqpipe.aws.tables import JOBS, METADATA, QUALITY
from seqpipe_infra.access import grant_bucket, grant_table
from seqpipe_infra.batch_stack import BatchStack
from seqpipe_infra.common import log_group, removal_policy, workflow_role
from seqpipe_infra.compliance import acknowledge
from seqpipe_infra.config import EnvConfig
from seqpipe_infra.data_stack import DataStack
from seqpipe_infra.names import bucket_name, deployed_settings, table_name
from seqpipe_infra.network_stack import NetworkStack
from seqpipe_infra.permissions import Access
from seqpipe_infra.storage_stack import DELIVERY, PROCESSED, PROCESSED_RUNS_PREFIX, StorageStack

CONTAINER_PORT = 8000
DASHBOARD_COMMAND = ["seqpipe", "dashboard", "serve", "--host", "0.0.0.0", "--port", str(CONTAINER_PORT)]
# What the app does with the data (seqpipe.aws.read_model): one Query or GetItem per page; a presigned
# GetObject of runs/<run>/qc/multiqc_report.html; GetObject of <run>/manifest.json in delivery (with
# ListBucket, so that a run without a manifest is a 404 "not delivered" rather than access denied).
TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query")
REPORT_PREFIX = f"{PROCESSED_RUNS_PREFIX}*/qc/"
# AWS managed rule groups on the load balancer, and a per-address rate limit (requests per 5 min)
MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
RATE_LIMIT_PER_5_MINUTES = 2000


class DashboardStack(cdk.Stack):
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
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.config = config
        self.add_stack_dependency(data)  # the tables the tasks read, by name

        self.user_pool, client, domain = self._cognito()
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            load_balancer_name=f"{config.prefix}-dashboard",
            vpc=network.vpc,
            internet_facing=config.dashboard.internet_facing,
            vpc_subnets=network.edge_subnets
            if config.dashboard.internet_facing
            else network.dashboard_subnets,
            security_group=network.dashboard_alb_sg,
            drop_invalid_header_fields=True,
            deletion_protection=config.deletion_protection,
        )
        self.load_balancer.log_access_logs(storage.access_logs, prefix="dashboard-alb")
        if not config.deletion_protection:
            acknowledge(
                self.load_balancer,
                "Deletion protection follows the environment's protection setting; this environment is "
                "disposable by design and holds no data in the load balancer.",
                "HIPAA.Security-ELBDeletionProtectionEnabled",
            )

        self.service = self._service(network, storage, compute)
        targets = elbv2.ApplicationTargetGroup(
            self,
            "Targets",
            vpc=network.vpc,
            port=CONTAINER_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            targets=[self.service],
            health_check=elbv2.HealthCheck(path="/healthz", healthy_http_codes="200"),
            deregistration_delay=cdk.Duration.seconds(30),
        )
        self.listener = self.load_balancer.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_arn(config.dashboard.certificate_arn)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            open=False,  # the security group admits the configured networks only
            default_action=elbv2_actions.AuthenticateCognitoAction(
                user_pool=self.user_pool,
                user_pool_client=client,
                user_pool_domain=domain,
                session_timeout=cdk.Duration.hours(8),
                next=elbv2.ListenerAction.forward([targets]),
            ),
        )
        self.web_acl = self._web_acl(storage.key)
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.load_balancer.load_balancer_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )

        for name, value in {
            "DashboardUrl": f"https://{config.dashboard.domain_name}/",
            "LoadBalancerDnsName": self.load_balancer.load_balancer_dns_name,
            "UserPoolId": self.user_pool.user_pool_id,
        }.items():
            cdk.CfnOutput(self, name, value=value)

    def _cognito(self) -> tuple[cognito.UserPool, cognito.UserPoolClient, cognito.UserPoolDomain]:
        """Operators add users (no self sign-up); every user signs in with a password and a TOTP app."""
        config = self.config
        pool = cognito.UserPool(
            self,
            "Users",
            user_pool_name=f"{config.prefix}-dashboard",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            # compromised credentials and risky sign-ins are blocked, not only reported
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=config.deletion_protection,
            removal_policy=removal_policy(config),
        )
        domain = pool.add_domain(
            "Domain",
            # domain prefixes are global per region: the account makes this one unique
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=f"{config.prefix}-dashboard-{config.account}"
            ),
        )
        client = pool.add_client(
            "LoadBalancer",
            user_pool_client_name=f"{config.prefix}-dashboard-alb",
            generate_secret=True,  # the load balancer is a confidential client
            prevent_user_existence_errors=True,
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
                callback_urls=[f"https://{config.dashboard.domain_name}/oauth2/idpresponse"],
            ),
            id_token_validity=cdk.Duration.hours(1),
            access_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.hours(8),
        )
        return pool, client, domain

    def _service(
        self, network: NetworkStack, storage: StorageStack, compute: BatchStack
    ) -> ecs.FargateService:
        config = self.config
        key = storage.key
        cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=f"{config.prefix}-dashboard",
            vpc=network.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        # under the workflow path, so that it denies itself bucket deletion like every role running our code
        task_role = workflow_role(
            self,
            "DashboardTaskRole",
            config,
            iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            "Dashboard tasks: read the tables, presign QC reports, read delivery manifests",
        )
        for spec in (METADATA, JOBS, QUALITY):
            grant_table(task_role, config, table_name(config, spec), key, Access.READ, only=TABLE_ACTIONS)
        grant_bucket(
            task_role, bucket_name(config, PROCESSED), key, Access.READ, REPORT_PREFIX, only=("s3:GetObject",)
        )
        grant_bucket(
            task_role,
            bucket_name(config, DELIVERY),
            key,
            Access.READ,
            suffix=f"/{MANIFEST_NAME}",
            only=("s3:GetObject", "s3:ListBucket"),
        )

        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            family=f"{config.prefix}-dashboard",
            cpu=config.dashboard.cpu,
            memory_limit_mib=config.dashboard.memory_mb,
            task_role=task_role,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        task.add_container(
            "web",
            image=ecs.ContainerImage.from_ecr_repository(compute.repository, config.batch.image_tag),
            command=DASHBOARD_COMMAND,
            port_mappings=[ecs.PortMapping(container_port=CONTAINER_PORT)],
            readonly_root_filesystem=True,
            logging=ecs.LogDriver.aws_logs(
                stream_prefix="dashboard",
                log_group=log_group(self, "Logs", config, f"/seqpipe/{config.environment}/dashboard", key),
            ),
            environment={
                **deployed_settings(config, alert_topic_arn=None).environment(),
                "SEQPIPE_DASHBOARD_AUTH": "alb",
                "SEQPIPE_ALB_ARN": self.load_balancer.load_balancer_arn,
                "AWS_REGION": config.region,
            },
        )
        acknowledge(
            task,
            "The container's environment holds resource names and the load balancer's ARN only; the task "
            "role gives the credentials and there is no secret to keep in Secrets Manager.",
            "AwsSolutions-ECS2",
        )
        acknowledge(
            task.obtain_execution_role(),
            "ecr:GetAuthorizationToken supports no resource-level scoping; image pulls are limited to the "
            "pipeline repository and log writes to the dashboard's log group.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        return ecs.FargateService(
            self,
            "Service",
            service_name=f"{config.prefix}-dashboard",
            cluster=cluster,
            task_definition=task,
            desired_count=config.dashboard.desired_count,
            assign_public_ip=False,
            vpc_subnets=network.dashboard_subnets,
            security_groups=[network.dashboard_sg],
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            min_healthy_percent=100,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
        )

    def _web_acl(self, key: kms.IKey) -> wafv2.CfnWebACL:
        def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            )

        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                visibility_config=visibility(group),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="RateLimitPerAddress",
                priority=len(rules),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=RATE_LIMIT_PER_5_MINUTES, aggregate_key_type="IP"
                    )
                ),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                visibility_config=visibility("RateLimitPerAddress"),
            )
        )
        config = self.config
        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=f"{config.prefix}-dashboard",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility(f"{config.prefix}-dashboard"),
            rules=rules,
        )
        # WAF writes only to log groups named aws-waf-logs-*, addressed without the ":*" suffix
        name = f"aws-waf-logs-{config.prefix}-dashboard"
        logs = log_group(self, "WafLogs", config, name, key)
        logging = wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=acl.attr_arn,
            log_destination_configs=[f"arn:aws:logs:{config.region}:{config.account}:log-group:{name}"],
            # the load balancer's session cookie signs a user in: it stays out of the logs
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
                for header in ("cookie", "authorization")
            ],
        )
        logging.node.add_dependency(logs)
        return acl
