"""VPC with private subnets only: no internet or NAT gateway; AWS APIs through VPC endpoints."""

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
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc.cidr),
            availability_zones=config.availability_zones,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="compute", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=20
                )
            ],
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
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        self.vpc.add_gateway_endpoint(
            "S3", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[self.subnets]
        )
        self.vpc.add_gateway_endpoint(
            "DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets=[self.subnets]
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
