"""The web dashboard's stack (dashboard_stack.py), on the templates of every environment enabling it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from seqpipe_infra.config import ENVIRONMENTS, load_config
from seqpipe_infra.dashboard_stack import CONTAINER_PORT, DASHBOARD_COMMAND
from seqpipe_infra.iam_audit import audit_templates
from seqpipe_infra.names import bucket_name
from seqpipe_infra.permissions import Access, classify

from seqpipe.aws.tables import ALL_TABLES


@pytest.fixture(params=ENVIRONMENTS)
def dashboard(request, synthesis):
    """(config, the dashboard template, the network template) of one environment."""
    config = synthesis.configs[request.param]
    assert config.dashboard.enabled, f"{request.param}: the dashboard is enabled in every shipped config"
    return (
        config,
        synthesis.template(f"{config.prefix}-dashboard"),
        synthesis.template(f"{config.prefix}-network"),
    )


def only(template: dict, type_: str) -> tuple[str, dict]:
    (found,) = [
        (lid, r.get("Properties", {})) for lid, r in template["Resources"].items() if r["Type"] == type_
    ]
    return found


def of_type(template: dict, type_: str) -> dict[str, dict]:
    return {lid: r.get("Properties", {}) for lid, r in template["Resources"].items() if r["Type"] == type_}


def test_user_pool_admits_only_invited_users_with_mfa_and_threat_protection(dashboard):
    config, template, _ = dashboard
    _, pool = only(template, "AWS::Cognito::UserPool")
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}  # no self sign-up
    assert pool["MfaConfiguration"] == "ON" and pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert pool["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 14
    assert pool["DeletionProtection"] == ("ACTIVE" if config.deletion_protection else "INACTIVE")
    _, client = only(template, "AWS::Cognito::UserPoolClient")
    assert client["GenerateSecret"] is True and client["AllowedOAuthFlows"] == ["code"]
    assert client["CallbackURLs"] == [f"https://{config.dashboard.domain_name}/oauth2/idpresponse"]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    _, domain = only(template, "AWS::Cognito::UserPoolDomain")
    assert domain["Domain"].startswith(f"{config.prefix}-dashboard")


def test_listener_signs_users_in_with_cognito_before_forwarding_to_the_tasks(dashboard):
    config, template, _ = dashboard
    (listener,) = of_type(template, "AWS::ElasticLoadBalancingV2::Listener").values()  # no plain HTTP
    assert listener["Protocol"] == "HTTPS" and listener["Port"] == 443
    assert listener["Certificates"] == [{"CertificateArn": config.dashboard.certificate_arn}]
    assert listener["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    authenticate, forward = sorted(listener["DefaultActions"], key=lambda a: a["Order"])
    pool_id, _ = only(template, "AWS::Cognito::UserPool")
    client_id, _ = only(template, "AWS::Cognito::UserPoolClient")
    assert authenticate["Type"] == "authenticate-cognito"
    assert authenticate["AuthenticateCognitoConfig"]["UserPoolArn"] == {"Fn::GetAtt": [pool_id, "Arn"]}
    assert authenticate["AuthenticateCognitoConfig"]["UserPoolClientId"] == {"Ref": client_id}
    target_group_id, target_group = only(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert forward == {"Order": 2, "Type": "forward", "TargetGroupArn": {"Ref": target_group_id}}
    assert target_group["Port"] == CONTAINER_PORT and target_group["HealthCheckPath"] == "/healthz"
    assert not of_type(template, "AWS::ElasticLoadBalancingV2::ListenerRule")  # no way around it


def test_load_balancer_follows_the_config_drops_invalid_headers_and_logs_access(dashboard):
    config, template, _ = dashboard
    _, alb = only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert alb["Scheme"] == ("internet-facing" if config.dashboard.internet_facing else "internal")
    tier = "edge" if config.dashboard.internet_facing else "dashboard"
    assert all(f"Vpc{tier}Subnet" in s["Fn::ImportValue"] for s in alb["Subnets"])
    attributes = {a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    assert "AccessLogs" in attributes["access_logs.s3.bucket"]["Fn::ImportValue"]
    assert attributes["deletion_protection.enabled"] == str(config.deletion_protection).lower()
    (security_group,) = alb["SecurityGroups"]
    assert "DashboardAlbSg" in security_group["Fn::ImportValue"]


def test_service_has_no_public_ip_and_its_security_group_admits_only_the_load_balancer(dashboard):
    config, template, network = dashboard
    _, service = only(template, "AWS::ECS::Service")
    assert service["LaunchType"] == "FARGATE" and service["DesiredCount"] == config.dashboard.desired_count
    vpc = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert vpc["AssignPublicIp"] == "DISABLED"
    assert all("VpcdashboardSubnet" in s["Fn::ImportValue"] for s in vpc["Subnets"])
    (security_group,) = vpc["SecurityGroups"]
    assert "DashboardSg" in security_group["Fn::ImportValue"]
    groups = of_type(network, "AWS::EC2::SecurityGroup")
    (service_sg,) = [lid for lid in groups if lid.startswith("DashboardSg")]
    (alb_sg,) = [lid for lid in groups if lid.startswith("DashboardAlbSg")]
    assert "SecurityGroupIngress" not in groups[service_sg]
    into_service = [
        p
        for p in of_type(network, "AWS::EC2::SecurityGroupIngress").values()
        if p["GroupId"] == {"Fn::GetAtt": [service_sg, "GroupId"]}
    ]
    assert [(p["SourceSecurityGroupId"], p["FromPort"], p["ToPort"]) for p in into_service] == [
        ({"Fn::GetAtt": [alb_sg, "GroupId"]}, CONTAINER_PORT, CONTAINER_PORT)
    ]
    assert not [
        t for t in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroup") if of_type(template, t)
    ]


def test_task_runs_the_dashboard_from_the_pipeline_image_checking_the_load_balancer_signature(dashboard):
    config, template, _ = dashboard
    _, task = only(template, "AWS::ECS::TaskDefinition")
    assert task["RequiresCompatibilities"] == ["FARGATE"] and task["NetworkMode"] == "awsvpc"
    (container,) = task["ContainerDefinitions"]
    assert container["Command"] == DASHBOARD_COMMAND
    assert container["ReadonlyRootFilesystem"] is True
    assert "PipelineImage" in str(container["Image"]) and config.batch.image_tag in str(container["Image"])
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    alb_id, _ = only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert environment["SEQPIPE_DASHBOARD_AUTH"] == "alb"
    assert environment["SEQPIPE_ALB_ARN"] == {"Ref": alb_id}
    assert environment["AWS_REGION"] == config.region
    assert environment["QC_TABLE"] == f"{config.prefix}-quality-metrics"
    assert environment["PROCESSED_BUCKET"] == bucket_name(config, "processed")
    assert not [k for k in environment if any(s in k for s in ("SECRET", "PASSWORD", "ACCESS_KEY"))]
    logs = of_type(template, "AWS::Logs::LogGroup")
    assert logs and all(
        p["RetentionInDays"] == config.log_retention_days and "KmsKeyId" in p for p in logs.values()
    )


def test_task_role_only_reads_the_tables_qc_reports_and_delivery_manifests(dashboard, synthesis):
    config, template, _ = dashboard
    _, task = only(template, "AWS::ECS::TaskDefinition")
    role_id = task["TaskRoleArn"]["Fn::GetAtt"][0]
    allowed = [
        s
        for p in of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Roles"]
        for s in p["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    actions = {a for s in allowed for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "s3:GetObject",
        "s3:ListBucket",
        "kms:Decrypt",
        "kms:DescribeKey",
    }
    assert all(classify(a) <= {Access.READ} for a in actions)
    resources_of = {}
    for s in allowed:
        for action in [s["Action"]] if isinstance(s["Action"], str) else s["Action"]:
            resources_of.setdefault(action, set()).update(
                r
                for r in ([s["Resource"]] if not isinstance(s["Resource"], list) else s["Resource"])
                if isinstance(r, str)
            )
    tables = {
        f"arn:aws:dynamodb:{config.region}:{config.account}:table/{config.prefix}-{t.base_name}"
        for t in ALL_TABLES
    }
    assert resources_of["dynamodb:Query"] == tables | {f"{t}/index/*" for t in tables}
    assert resources_of["s3:GetObject"] == {
        f"arn:aws:s3:::{bucket_name(config, 'processed')}/runs/*/qc/*",
        f"arn:aws:s3:::{bucket_name(config, 'delivery')}/*/manifest.json",
    }
    # and as the IAM audit sees it: read, never write or erase; no access to raw data
    access = audit_templates(synthesis.outdir, config.prefix, config.account, config.region).access()
    for name, expected in {
        bucket_name(config, "raw"): {"denied"},
        bucket_name(config, "processed"): {"read", "denied"},
        bucket_name(config, "delivery"): {"read", "denied"},
        f"{config.prefix}-processing-jobs": {"read"},
    }.items():
        (entry,) = [e for principal, e in access[name].items() if "/DashboardTaskRole" in principal]
        assert set(entry) == expected, name


def test_waf_web_acl_with_the_managed_common_rules_guards_the_load_balancer(dashboard):
    _, template, _ = dashboard
    acl_id, acl = only(template, "AWS::WAFv2::WebACL")
    assert acl["Scope"] == "REGIONAL"
    managed = [
        r["Statement"]["ManagedRuleGroupStatement"]
        for r in acl["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
    ]
    assert {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"} in managed
    assert any("RateBasedStatement" in r["Statement"] for r in acl["Rules"])
    alb_id, _ = only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    _, association = only(template, "AWS::WAFv2::WebACLAssociation")
    assert association == {"ResourceArn": {"Ref": alb_id}, "WebACLArn": {"Fn::GetAtt": [acl_id, "Arn"]}}
    _, logging = only(template, "AWS::WAFv2::LoggingConfiguration")
    assert logging["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert {"SingleHeader": {"Name": "cookie"}} in logging["RedactedFields"]


def test_without_the_dashboard_the_vpc_keeps_no_route_out_and_no_dashboard_groups():
    """An environment may switch the dashboard off: then the network is the isolated one alone."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template
    from seqpipe_infra.app_builder import FEATURE_FLAGS
    from seqpipe_infra.network_stack import NetworkStack
    from seqpipe_infra.storage_stack import StorageStack

    dev = load_config("dev")
    config = replace(dev, dashboard=replace(dev.dashboard, enabled=False))
    app = cdk.App(context=FEATURE_FLAGS)
    env = cdk.Environment(account=config.account, region=config.region)
    storage = StorageStack(app, "storage", config=config, env=env)
    template = Template.from_stack(NetworkStack(app, "network", config=config, key=storage.key, env=env))
    for type_ in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::EIP", "AWS::EC2::Route"):
        assert not template.find_resources(type_), type_
    assert len(template.find_resources("AWS::EC2::Subnet")) == len(config.vpc.availability_zones)
    groups = template.find_resources("AWS::EC2::SecurityGroup")
    assert sorted(lid[:-8] for lid in groups) == ["EndpointSg", "WorkloadSg"]  # without CDK's hash
