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
from aws_cdk import aws_kms as kms
from constructs import Construct

from seqpipe_infra.common import log_group
from seqpipe_infra.compliance import acknowledge
from seqpipe_infra.config import EnvConfig

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
        self.vpc.add_gateway_endpoint(
            "S3", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=gateway_subnets
        )
        self.vpc.add_gateway_endpoint(
            "DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets=gateway_subnets
        )

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
        # The gateway endpoints are reached through route tables at AWS-managed prefix lists whose
        # ids differ per region; the subnets have no route to the internet, so HTTPS "anywhere"
        # reaches exactly the S3 and DynamoDB gateways and the interface endpoints.
        self.workload_sg.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS endpoints only"
        )

        if config.dashboard.enabled:
            self._dashboard_security_groups(config)

        for name, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=self.subnets,
                security_groups=[self.endpoint_sg],
                private_dns_enabled=True,
                open=False,
            )
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
