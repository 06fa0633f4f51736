"""VPC whose compute subnets have no route out of it (AWS APIs through VPC endpoints).

With the web dashboard enabled (config `dashboard`), two more tiers are added for it alone: `edge`
subnets (the NAT gateways, and the load balancer when it is internet-facing) and `dashboard`
subnets (the dashboard's tasks, and the load balancer when it is internal) whose only way out is
NAT. The load balancer must reach Cognito's token endpoint and the dashboard the load balancer's
public signing keys (public-keys.auth.elb.<region>.amazonaws.com), neither of which has a VPC
endpoint. The compute subnets (Batch, Lambdas) stay without any route beyond the VPC.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from seqpipe.aws.tables import JOBS, METADATA, QUALITY
from seqpipe_infra.common import log_group
from seqpipe_infra.compliance import acknowledge
from seqpipe_infra.config import EnvConfig
from seqpipe_infra.names import DELIVERY, PROCESSED, RAW, alerts_topic_name, bucket_name, table_name
from seqpipe_infra.permissions import (
    DYNAMODB_ACTIONS,
    S3_BUCKET_ACTIONS,
    S3_OBJECT_ACTIONS,
    bucket_arn,
    table_arn,
)

# What the Batch hosts (ECS agent, image pulls), the head job (Batch API, STS for the job role),
# the Lambdas (SNS alerts, X-Ray traces) and every container (logs) need to reach without an
# internet route.
INTERFACE_ENDPOINTS = {
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "Ecs": ec2.InterfaceVpcEndpointAwsService.ECS,
    "EcsAgent": ec2.InterfaceVpcEndpointAwsService.ECS_AGENT,
    "EcsTelemetry": ec2.InterfaceVpcEndpointAwsService.ECS_TELEMETRY,
    "Batch": ec2.InterfaceVpcEndpointAwsService.BATCH,
    "Sns": ec2.InterfaceVpcEndpointAwsService.SNS,
    "XRay": ec2.InterfaceVpcEndpointAwsService.XRAY,
}


class NetworkStack(cdk.Stack):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, key: kms.IKey, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        subnet_configuration = [
            ec2.SubnetConfiguration(name="compute", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=20)
        ]
        if config.dashboard.enabled:
            # after `compute`, so that the compute subnets keep their address ranges
            subnet_configuration += [
                ec2.SubnetConfiguration(
                    name="edge",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=24,
                    map_public_ip_on_launch=False,
                ),
                ec2.SubnetConfiguration(
                    name="dashboard", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=24
                ),
            ]
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc.cidr),
            availability_zones=config.availability_zones,
            nat_gateways=config.dashboard.nat_gateways if config.dashboard.enabled else 0,
            subnet_configuration=subnet_configuration,
            # Left as created: CDK would empty it with a Lambda-backed custom resource; nothing uses it
            # (every ENI here gets the workload or endpoint group).
            restrict_default_security_group=False,
            flow_logs={
                "rejected": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                        log_group(
                            self, "FlowLogs", config, f"/seqpipe/{config.environment}/vpc-flow-logs", key
                        )
                    ),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        )
        acknowledge(
            self.vpc,
            "The default security group is left as EC2 creates it because emptying it needs CDK's "
            "Lambda-backed custom resource; nothing is attached to it (every ENI in this VPC gets the "
            "workload or endpoint group, both closed), and the subnets have no route outside the VPC.",
            "HIPAA.Security-VPCDefaultSecurityGroupClosed",
        )
        for subnet in (
            self.vpc.select_subnets(subnet_group_name="edge").subnets if config.dashboard.enabled else []
        ):
            acknowledge(
                subnet,
                "The edge subnets hold only the NAT gateways and an internet-facing dashboard load balancer "
                "(WAF, Cognito sign-in, allowed networks only); no workload runs in them, and the compute "
                "subnets keep no route outside the VPC.",
                "HIPAA.Security-VPCNoUnrestrictedRouteToIGW",
            )
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.dashboard_subnets = ec2.SubnetSelection(subnet_group_name="dashboard")
        self.edge_subnets = ec2.SubnetSelection(subnet_group_name="edge")
        # S3 and DynamoDB stay off the NAT path for the dashboard too
        gateway_subnets = [self.subnets] + ([self.dashboard_subnets] if config.dashboard.enabled else [])
        s3_endpoint = self.vpc.add_gateway_endpoint(
            "S3", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=gateway_subnets
        )
        for statement in s3_endpoint_statements(config):
            s3_endpoint.add_to_policy(statement)
        dynamodb_endpoint = self.vpc.add_gateway_endpoint(
            "DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets=gateway_subnets
        )
        dynamodb_endpoint.add_to_policy(dynamodb_endpoint_statement(config))

        # Closed by default: no ingress anywhere; egress only HTTPS to the endpoints and the gateway
        # prefix lists. Workloads add nothing to these groups.
        self.endpoint_sg = ec2.SecurityGroup(
            self, "EndpointSg", vpc=self.vpc, allow_all_outbound=False, description="VPC interface endpoints"
        )
        self.workload_sg = ec2.SecurityGroup(
            self,
            "WorkloadSg",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="Batch hosts and Lambdas: HTTPS to AWS endpoints only",
        )
        self.endpoint_sg.add_ingress_rule(self.workload_sg, ec2.Port.tcp(443), "HTTPS from workloads")
        # Egress names its destinations, so that a route added later (a NAT, a peering) opens nothing:
        # the interface endpoints' group and the gateway endpoints' prefix lists (config vpc).
        self.workload_sg.add_egress_rule(
            self.endpoint_sg, ec2.Port.tcp(443), "HTTPS to the interface endpoints"
        )
        for service, prefix_list in (
            ("S3", config.vpc.s3_prefix_list),
            ("DynamoDB", config.vpc.dynamodb_prefix_list),
        ):
            self.workload_sg.add_egress_rule(
                ec2.Peer.prefix_list(prefix_list),
                ec2.Port.tcp(443),
                f"HTTPS to the {service} gateway endpoint",
            )

        if config.dashboard.enabled:
            self._dashboard_security_groups(config)

        for name, service in INTERFACE_ENDPOINTS.items():
            endpoint = self.vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=self.subnets,
                security_groups=[self.endpoint_sg],
                private_dns_enabled=True,
                open=False,
            )
            endpoint.add_to_policy(interface_endpoint_statement(config, name))
        cdk.CfnOutput(self, "VpcId", value=self.vpc.vpc_id)

    def _dashboard_security_groups(self, config: EnvConfig) -> None:
        """The load balancer admits HTTPS from the configured networks only; the dashboard's tasks
        admit nothing but the load balancer (that rule, load balancer → task port, is added when the
        dashboard stack attaches its service to the target group)."""
        self.dashboard_alb_sg = ec2.SecurityGroup(
            self,
            "DashboardAlbSg",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="Dashboard load balancer: HTTPS from the allowed networks",
        )
        for cidr in config.dashboard.allowed_cidrs:
            self.dashboard_alb_sg.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS from users")
        # Cognito's token and user-info endpoints are public (no VPC endpoint)
        self.dashboard_alb_sg.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to Cognito")
        self.dashboard_sg = ec2.SecurityGroup(
            self,
            "DashboardSg",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="Dashboard tasks: from the load balancer only; HTTPS to AWS endpoints",
        )
        self.endpoint_sg.add_ingress_rule(self.dashboard_sg, ec2.Port.tcp(443), "HTTPS from the dashboard")
        self.dashboard_sg.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS endpoints and the load balancer's keys"
        )


# Endpoint policies: credentials taken from a container can still be used through the endpoints, but
# only on this deployment's buckets, tables and topic, and only as principals of this account.
# Besides the data buckets, the S3 gateway serves what the Batch hosts fetch from AWS-owned buckets:
# ECR image layers and the Amazon Linux package repositories (the hosts' security updates at boot).
def _aws_owned_buckets(region: str) -> list[str]:
    return [
        f"prod-{region}-starport-layer-bucket",
        f"amazonlinux-2-repos-{region}",
        f"al2023-repos-{region}-*",
    ]


def _this_account(config: EnvConfig) -> dict:
    return {"StringEquals": {"aws:PrincipalAccount": config.account}}


def s3_endpoint_statements(config: EnvConfig) -> list[iam.PolicyStatement]:
    buckets = [bucket_name(config, purpose) for purpose in (RAW, PROCESSED, DELIVERY)]
    data_actions = sorted(
        {a for actions in (*S3_OBJECT_ACTIONS.values(), *S3_BUCKET_ACTIONS.values()) for a in actions}
    )
    return [
        iam.PolicyStatement(
            sid="ThisDeploymentsBuckets",
            principals=[iam.AnyPrincipal()],
            actions=data_actions,
            resources=[arn for name in buckets for arn in (bucket_arn(name), f"{bucket_arn(name)}/*")],
            conditions=_this_account(config),
        ),
        iam.PolicyStatement(
            sid="ImageLayersAndPackages",
            principals=[iam.AnyPrincipal()],
            actions=["s3:GetObject"],
            resources=[f"{bucket_arn(name)}/*" for name in _aws_owned_buckets(config.region)],
        ),
    ]


def dynamodb_endpoint_statement(config: EnvConfig) -> iam.PolicyStatement:
    # the erasure audit table is not among them: no workload may reach it
    tables = [table_arn(config, table_name(config, spec)) for spec in (METADATA, JOBS, QUALITY)]
    return iam.PolicyStatement(
        sid="ThisDeploymentsTables",
        principals=[iam.AnyPrincipal()],
        actions=sorted({a for actions in DYNAMODB_ACTIONS.values() for a in actions}),
        resources=[arn for table in tables for arn in (table, f"{table}/index/*")],
        conditions=_this_account(config),
    )


def interface_endpoint_statement(config: EnvConfig, name: str) -> iam.PolicyStatement:
    if name == "Sns":
        return iam.PolicyStatement(
            sid="ThisDeploymentsTopic",
            principals=[iam.AnyPrincipal()],
            actions=["sns:Publish"],
            resources=[f"arn:aws:sns:{config.region}:{config.account}:{alerts_topic_name(config)}"],
            conditions=_this_account(config),
        )
    # ECR, ECS, Batch, Logs, STS, X-Ray: APIs of the platform itself, many without resource-level
    # scoping; the endpoint serves this account's principals only
    return iam.PolicyStatement(
        sid="ThisAccountsPrincipals",
        principals=[iam.AnyPrincipal()],
        actions=["*"],
        resources=["*"],
        conditions=_this_account(config),
    )
