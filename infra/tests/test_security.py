"""Security and cost properties of the synthesized templates, for every environment."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from seqpipe_infra.names import bucket_name
from synthesized import as_list, resources

from seqpipe.aws.tables import ALL_TABLES, ERASURE_AUDIT
from seqpipe.handlers.registry import HANDLERS, JOB_QUEUE_READERS
from seqpipe.orchestration.state_machine import build_definition

COST_TAGS = {"project", "environment", "run"}
# The names seqpipe.aws.settings.Settings reads (besides ALERT_TOPIC_ARN)
SETTINGS_VARIABLES = (
    "METADATA_TABLE",
    "JOBS_TABLE",
    "QC_TABLE",
    "RAW_BUCKET",
    "PROCESSED_BUCKET",
    "DELIVERY_BUCKET",
)
# Resource types that must carry the cost-allocation tags (every taggable type this app creates).
TAGGED_TYPES = {
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::DynamoDB::Table",
    "AWS::Lambda::Function",
    "AWS::IAM::Role",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::Logs::LogGroup",
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::SecurityGroup",
    "AWS::StepFunctions::StateMachine",
    "AWS::Batch::ComputeEnvironment",
    "AWS::Batch::JobQueue",
    "AWS::Batch::JobDefinition",
    "AWS::ECR::Repository",
    "AWS::CloudTrail::Trail",
}


def statements(templates: dict) -> Iterator[dict]:
    for _, props in resources(templates, "AWS::IAM::Policy"):
        yield from props["PolicyDocument"]["Statement"]
    for _, props in resources(templates, "AWS::IAM::Role"):
        for policy in props.get("Policies", []):
            yield from policy["PolicyDocument"]["Statement"]


def tag_keys(props: dict) -> set[str]:
    tags = props.get("Tags", [])
    return set(tags) if isinstance(tags, dict) else {t["Key"] for t in tags}


def test_every_environment_has_six_stacks_and_the_dashboard_and_replica_where_enabled(env):
    config, templates = env
    stacks = ["network", "storage", "data", "monitoring", "batch", "orchestration"]
    stacks += ["dashboard"] if config.dashboard.enabled else []
    stacks += ["replica"] if config.durability.raw_replica_region else []
    assert sorted(templates) == sorted(f"{config.prefix}-{s}" for s in stacks)


def test_buckets_are_encrypted_private_versioned_logged_and_owner_enforced(env):
    config, templates = env
    buckets = dict(resources(templates, "AWS::S3::Bucket"))
    names = {props["BucketName"]: props for props in buckets.values()}
    for purpose in ("raw", "processed", "delivery", "trail", "access-logs"):
        assert bucket_name(config, purpose) in names
    for name, props in names.items():
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, name
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, name
        assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}], name
        encryption = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]
        if name.startswith(f"{config.prefix}-access-logs-"):  # the region's, and the replica region's
            assert encryption == {"SSEAlgorithm": "AES256"}  # S3 access logging cannot write SSE-KMS
        else:
            assert encryption["SSEAlgorithm"] == "aws:kms" and "KMSMasterKeyID" in encryption, name
            assert props["LoggingConfiguration"]["LogFilePrefix"], name


def test_bucket_policies_require_tls_and_deny_bucket_deletion_to_workflow_roles(env):
    config, templates = env
    policies = list(resources(templates, "AWS::S3::BucketPolicy"))
    # raw, processed, delivery, trail, access logs; the replica and its access logs
    assert len(policies) == 5 + 2 * (config.durability.raw_replica_region is not None)
    for _, props in policies:
        stmts = props["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"].get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in stmts
            if "Condition" in s
        )
        assert any(
            s.get("Condition", {}).get("NumericLessThan", {}).get("s3:TlsVersion") == 1.2 for s in stmts
        )
    data_policies = [
        p
        for _, p in policies
        if any(s.get("Sid") == "WorkflowRolesNeverDeleteBuckets" for s in p["PolicyDocument"]["Statement"])
    ]
    assert len(data_policies) == 4  # raw, processed, delivery, trail
    for props in data_policies:
        deny = next(
            s
            for s in props["PolicyDocument"]["Statement"]
            if s.get("Sid") == "WorkflowRolesNeverDeleteBuckets"
        )
        assert deny["Effect"] == "Deny" and deny["Action"] == "s3:DeleteBucket"
        assert (
            deny["Condition"]["ArnLike"]["aws:PrincipalArn"]
            == f"arn:aws:iam::{config.account}:role/{config.prefix}/workflow/*"
        )


def test_every_workflow_role_denies_itself_bucket_deletion(env):
    config, templates = env
    roles = {
        lid: p
        for lid, p in resources(templates, "AWS::IAM::Role")
        if p.get("Path") == f"/{config.prefix}/workflow/"
    }
    # Batch head + tasks, one per Lambda, erasure, and the dashboard's tasks
    assert len(roles) == 3 + len(HANDLERS) + config.dashboard.enabled
    denied_roles = set()
    for _, props in resources(templates, "AWS::IAM::Policy"):
        for s in props["PolicyDocument"]["Statement"]:
            if s["Effect"] == "Deny" and s["Action"] == "s3:DeleteBucket":
                assert s["Resource"] == f"arn:aws:s3:::{config.prefix}-*"
                denied_roles.update(r["Ref"] for r in props["Roles"])
    assert denied_roles == set(roles)


def test_lifecycle_rules_follow_the_environment_config(env):
    config, templates = env
    lc = config.lifecycle
    by_name = {p["BucketName"]: p for _, p in resources(templates, "AWS::S3::Bucket")}

    def rules(purpose: str) -> dict[str, dict]:
        return {r["Id"]: r for r in by_name[bucket_name(config, purpose)]["LifecycleConfiguration"]["Rules"]}

    for purpose in ("raw", "processed", "delivery"):
        housekeeping = rules(purpose)["housekeeping"]
        assert housekeeping["AbortIncompleteMultipartUpload"] == {
            "DaysAfterInitiation": lc.abort_multipart_days
        }
        # a raw version outlives its Object Lock (test_durability.py)
        kept = max(lc.noncurrent_expire_days, config.durability.raw_lock_days * (purpose == "raw"))
        assert housekeeping["NoncurrentVersionExpiration"] == {"NoncurrentDays": kept}
    assert rules("raw")["raw-to-archive"]["Transitions"] == [
        {"StorageClass": "GLACIER_IR", "TransitionInDays": lc.raw_to_glacier_ir_days},
        {"StorageClass": "DEEP_ARCHIVE", "TransitionInDays": lc.raw_to_deep_archive_days},
    ]
    processed = rules("processed")
    assert processed["expire-intermediates"]["Prefix"] == "work/"
    assert processed["expire-intermediates"]["ExpirationInDays"] == lc.intermediate_expire_days
    assert processed["runs-intelligent-tiering"]["Transitions"] == [
        {"StorageClass": "INTELLIGENT_TIERING", "TransitionInDays": 0}
    ]
    assert rules("delivery")["expire-deliveries"]["ExpirationInDays"] == lc.delivery_expire_days


def test_tables_are_on_demand_with_pitr_kms_and_prod_deletion_protection(env):
    config, templates = env
    tables = {p["TableName"]: p for _, p in resources(templates, "AWS::DynamoDB::Table")}
    specs = (*ALL_TABLES, ERASURE_AUDIT)
    assert sorted(tables) == sorted(f"{config.prefix}-{spec.base_name}" for spec in specs)
    for spec in specs:
        props = tables[f"{config.prefix}-{spec.base_name}"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert (
            props["SSESpecification"]["SSEEnabled"] is True and props["SSESpecification"]["SSEType"] == "KMS"
        )
        assert props["DeletionProtectionEnabled"] is (config.environment != "dev")
        assert sorted(i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])) == sorted(
            i.name for i in spec.indexes
        )
        assert {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]} == {
            k.name: t for k, t in ((spec.partition, "HASH"), (spec.sort, "RANGE")) if k is not None
        }


def test_every_taggable_resource_carries_the_cost_allocation_tags(env):
    config, templates = env
    seen_types = set()
    for template in templates.values():
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            if resource["Type"] in TAGGED_TYPES or "Tags" in props:
                seen_types.add(resource["Type"])
                assert tag_keys(props) >= COST_TAGS, f"{logical_id} ({resource['Type']})"
                tags = props["Tags"]
                values = tags if isinstance(tags, dict) else {t["Key"]: t["Value"] for t in tags}
                assert values["environment"] == config.environment and values["project"] == "seqpipe"
    assert seen_types >= TAGGED_TYPES
    budget = next(p for _, p in resources(templates, "AWS::Budgets::Budget"))
    assert {t["Key"] for t in budget["ResourceTags"]} == COST_TAGS


def test_compute_subnets_have_no_route_out_and_security_groups_are_closed(env):
    """No public IPs anywhere; the compute subnets route nowhere beyond the VPC. Only with the
    dashboard are there an internet gateway and NAT, routed from its own edge/dashboard subnets."""
    config, templates = env
    dashboard = config.dashboard
    expected = {
        "AWS::EC2::InternetGateway": int(dashboard.enabled),
        "AWS::EC2::VPCGatewayAttachment": int(dashboard.enabled),
        "AWS::EC2::NatGateway": dashboard.nat_gateways if dashboard.enabled else 0,
        "AWS::EC2::EIP": dashboard.nat_gateways if dashboard.enabled else 0,
    }
    assert {type_: len(list(resources(templates, type_))) for type_ in expected} == expected
    subnets = dict(resources(templates, "AWS::EC2::Subnet"))
    tiers = {lid: _tag(props, "aws-cdk:subnet-name") for lid, props in subnets.items()}
    tier_names = ["compute"] + (["edge", "dashboard"] if dashboard.enabled else [])
    assert sorted(tiers.values()) == sorted(tier_names * len(config.vpc.availability_zones))
    assert all(not p.get("MapPublicIpOnLaunch", False) for p in subnets.values())
    route_table_of = {
        p["SubnetId"]["Ref"]: p["RouteTableId"]["Ref"]
        for _, p in resources(templates, "AWS::EC2::SubnetRouteTableAssociation")
    }
    routed = {p["RouteTableId"]["Ref"] for _, p in resources(templates, "AWS::EC2::Route")}
    for subnet, tier in tiers.items():
        assert (route_table_of[subnet] in routed) == (tier != "compute"), (subnet, tier)
    for _, props in resources(templates, "AWS::EC2::LaunchTemplate"):
        data = props["LaunchTemplateData"]
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        assert all(not ni.get("AssociatePublicIpAddress") for ni in data.get("NetworkInterfaces", []))
        assert all(b["Ebs"]["Encrypted"] for b in data["BlockDeviceMappings"])
    egress_rules_of = {
        p["GroupId"]["Fn::GetAtt"][0] for _, p in resources(templates, "AWS::EC2::SecurityGroupEgress")
    }
    for logical_id, props in resources(templates, "AWS::EC2::SecurityGroup"):
        from_addresses = [
            r for r in props.get("SecurityGroupIngress", []) if "CidrIp" in r or "CidrIpv6" in r
        ]
        if logical_id.startswith("DashboardAlbSg"):  # users reach the load balancer from the allowed networks
            assert {(r["CidrIp"], r["FromPort"], r["ToPort"]) for r in from_addresses} == {
                (cidr, 443, 443) for cidr in dashboard.allowed_cidrs
            }
        else:
            assert not from_addresses, logical_id
        # CDK writes rules to other groups and prefix lists as separate egress resources
        assert props.get("SecurityGroupEgress") or logical_id in egress_rules_of, (
            f"{logical_id} must not allow all outbound by default"
        )
    for logical_id, props in resources(templates, "AWS::EC2::SecurityGroupIngress"):
        assert "SourceSecurityGroupId" in props, logical_id
        into_dashboard = props["GroupId"]["Fn::GetAtt"][0].startswith("DashboardSg")
        assert props["FromPort"] == props["ToPort"] == (8000 if into_dashboard else 443), logical_id
    services = [json.dumps(p["ServiceName"]) for _, p in resources(templates, "AWS::EC2::VPCEndpoint")]
    for service in ("s3", "dynamodb", "ecr.api", "ecr.dkr", "logs", "sts"):
        assert any(f".{service}" in s for s in services), service


def _tag(props: dict, key: str) -> str | None:
    return next((t["Value"] for t in props.get("Tags", []) if t["Key"] == key), None)


def test_no_allow_statement_uses_wildcard_actions(env):
    _, templates = env
    for statement in statements(templates):
        if statement["Effect"] != "Allow":
            continue
        for action in as_list(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), statement
            if action.split(":")[0] in ("s3", "dynamodb", "kms"):
                assert "*" not in action, statement


def test_batch_has_spot_and_on_demand_and_a_head_job_with_explicit_task_timeout(env):
    config, templates = env
    environments = {
        p["ComputeEnvironmentName"]: p for _, p in resources(templates, "AWS::Batch::ComputeEnvironment")
    }
    assert {n: p["ComputeResources"]["Type"] for n, p in environments.items()} == {
        f"{config.prefix}-spot": "SPOT",
        f"{config.prefix}-ondemand": "EC2",
    }
    assert len(list(resources(templates, "AWS::Batch::JobQueue"))) == 2
    ((_, head),) = resources(templates, "AWS::Batch::JobDefinition")
    container = head["ContainerProperties"]
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment["SEQPIPE_TASK_TIMEOUT_SECONDS"] == str(config.batch.task_timeout_seconds)
    assert {"SNAKEMAKE_AWS_BATCH_JOB_QUEUE", "SNAKEMAKE_AWS_BATCH_JOB_ROLE"} <= set(environment)
    # every variable the job definition sets is one the aws-batch profile reads (none left unread)
    profile = (Path(__file__).resolve().parents[2] / "profiles" / "aws-batch" / "config.yaml").read_text()
    assert set(environment) <= set(re.findall(r'os\.environ\.get\("(\w+)"', profile))
    assert not [k for k in environment if "KEY" in k or "SECRET" in k]  # the job role gives credentials
    assert "JobRoleArn" in container and head["PropagateTags"] is True
    assert head["Timeout"]["AttemptDurationSeconds"] == config.batch.head_timeout_seconds
    ((_, repository),) = resources(templates, "AWS::ECR::Repository")
    assert repository["ImageScanningConfiguration"] == {"ScanOnPush": True}


def test_state_machine_is_the_package_definition_with_logging_and_tracing(env):
    config, templates = env
    ((_, machine),) = resources(templates, "AWS::StepFunctions::StateMachine")
    assert machine["StateMachineName"] == f"{config.prefix}-run"
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    assert machine["TracingConfiguration"] == {"Enabled": True}
    rendered = json.dumps(machine["DefinitionString"])
    for state in build_definition(_placeholder_refs())["States"]:
        assert f'\\"{state}\\"' in rendered, state


def _placeholder_refs():
    from seqpipe.orchestration.state_machine import StateMachineRefs

    return StateMachineRefs(*(["x"] * 9))


def test_lambdas_run_in_the_vpc_with_dlq_concurrency_tracing_and_log_retention(env):
    config, templates = env
    functions = {p["FunctionName"]: p for _, p in resources(templates, "AWS::Lambda::Function")}
    assert sorted(functions) == sorted(f"{config.prefix}-{base}" for base in HANDLERS)
    for name, props in functions.items():
        assert props["Handler"] == HANDLERS[name.removeprefix(config.prefix + "-")]
        assert props["VpcConfig"]["SubnetIds"] and props["VpcConfig"]["SecurityGroupIds"]
        assert "TargetArn" in props["DeadLetterConfig"]
        assert props["ReservedConcurrentExecutions"] == config.lambdas.reserved_concurrency
        assert props["TracingConfig"] == {"Mode": "Active"}
        # only what the package (Settings) and Powertools read: an unread variable is a second truth;
        # the job queues go to the one function that reads them
        queues = {"JOB_QUEUES"} if name.removeprefix(f"{config.prefix}-") in JOB_QUEUE_READERS else set()
        assert set(props["Environment"]["Variables"]) == {
            *SETTINGS_VARIABLES,
            "ALERT_TOPIC_ARN",
            "POWERTOOLS_LOG_LEVEL",
            *queues,
        }
    groups = list(resources(templates, "AWS::Logs::LogGroup"))
    assert groups and all(
        p["RetentionInDays"] == config.log_retention_days and "KmsKeyId" in p for _, p in groups
    )


def test_event_rules_validate_new_raw_objects_and_start_scheduled_runs_with_dead_letter_queues(env):
    config, templates = env
    rules = {p["Name"]: p for _, p in resources(templates, "AWS::Events::Rule")}
    raw = rules[f"{config.prefix}-raw-object-created"]
    assert raw["EventPattern"]["detail"]["bucket"]["name"] == [bucket_name(config, "raw")]
    assert raw["EventPattern"]["detail-type"] == ["Object Created"]
    scheduled = rules[f"{config.prefix}-scheduled-run"]
    assert scheduled["ScheduleExpression"] == config.schedule.expression
    assert scheduled["State"] == ("ENABLED" if config.schedule.enabled else "DISABLED")
    for rule in (raw, scheduled):
        (target,) = rule["Targets"]
        assert "Arn" in target["DeadLetterConfig"] and target["RetryPolicy"]["MaximumRetryAttempts"] == 4


def test_monitoring_alarms_notify_the_topic_and_budgets_alert(env):
    config, templates = env
    alarms = list(resources(templates, "AWS::CloudWatch::Alarm"))
    # runs (3), errors and throttles of each function, dead letters, RUNNABLE age, root activity
    assert len(alarms) == 3 + 2 * len(HANDLERS) + 3
    assert all(len(p["AlarmActions"]) == 1 for _, p in alarms)
    ((_, dashboard),) = resources(templates, "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["DashboardBody"])
    for metric in (
        "ExecutionsFailed",
        "Errors",
        "Duration",
        "ServiceIntegrationsFailed",
        "QcFailures",
        "BytesValidated",
    ):
        assert metric in body, metric
    ((_, budget),) = resources(templates, "AWS::Budgets::Budget")
    assert budget["Budget"]["BudgetLimit"] == {"Amount": config.budget.monthly_usd, "Unit": "USD"}
    thresholds = {n["Notification"]["Threshold"] for n in budget["NotificationsWithSubscribers"]}
    assert thresholds == set(config.budget.thresholds_percent)
    ((_, topic),) = resources(templates, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic


def test_cloudtrail_records_every_read_and_write_of_the_three_buckets(env):
    config, templates = env
    ((_, trail),) = resources(templates, "AWS::CloudTrail::Trail")
    assert trail["EnableLogFileValidation"] is True and "KMSKeyId" in trail
    assert not trail.get("EventSelectors")  # advanced selectors only (CloudFormation takes one kind)
    (buckets,) = [
        s for s in trail["AdvancedEventSelectors"] if s["Name"] == "data buckets: every object call"
    ]
    fields = {f["Field"]: f for f in buckets["FieldSelectors"]}
    # no readOnly field: reads and writes alike
    assert set(fields) == {"eventCategory", "resources.type", "resources.ARN"}
    assert fields["resources.type"]["Equals"] == ["AWS::S3::Object"]
    assert fields["resources.ARN"]["StartsWith"] == [
        f"arn:aws:s3:::{bucket_name(config, purpose)}/" for purpose in ("raw", "processed", "delivery")
    ]


def test_cli_environment_script_names_what_the_lambdas_are_given(env):
    import subprocess
    import sys

    config, templates = env
    script = Path(__file__).resolve().parents[1] / "scripts" / "seqpipe_env.py"
    printed = subprocess.run(
        [sys.executable, str(script), config.environment], capture_output=True, text=True, check=True
    ).stdout
    exported = dict(line.removeprefix("export ").split("=", 1) for line in printed.splitlines())
    for _, props in resources(templates, "AWS::Lambda::Function"):
        variables = props["Environment"]["Variables"]
        for name in SETTINGS_VARIABLES:
            assert exported[name] == variables[name], name
    assert exported["ALERT_TOPIC_ARN"].endswith(f":{config.prefix}-alerts")
