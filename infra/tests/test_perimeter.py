"""The data perimeter, for every environment: what a compromised task container can reach.

Batch hosts answer metadata requests only with a token and one hop (a container is two); the head
role registers only non-privileged task job definitions of the deployment's image under its prefix
and terminates only jobs; the VPC endpoints serve only the deployment's buckets, tables and topic to
the account's principals; the workload security group reaches nothing but the endpoints. Policies are
checked both as written and by evaluating requests against them (seqpipe_infra.iam_audit).
"""

from __future__ import annotations

from seqpipe_infra.config import EnvConfig
from seqpipe_infra.iam_audit import Audit, Statement
from seqpipe_infra.names import bucket_name, repository_uri, task_job_definitions_arn
from synthesized import as_list, resources_of

from seqpipe.execution.batch import JOB_DEFINITION_PREFIX_VARIABLE

FOREIGN_ACCOUNT = "999999999999"


def head_role(audit: Audit) -> str:
    (role,) = [p for p in audit.arns if "/HeadRole" in p]
    return role


def test_batch_hosts_answer_metadata_only_with_a_token_and_within_one_hop(env):
    config, templates = env
    ((_, template),) = resources_of(templates[f"{config.prefix}-batch"], "AWS::EC2::LaunchTemplate")
    options = template["LaunchTemplateData"]["MetadataOptions"]
    assert options["HttpTokens"] == "required"
    assert options["HttpPutResponseHopLimit"] == 1


def test_head_job_names_task_definitions_under_the_deployments_prefix(env):
    config, templates = env
    ((_, definition),) = [
        (i, p)
        for i, p in resources_of(templates[f"{config.prefix}-batch"], "AWS::Batch::JobDefinition")
        if p["JobDefinitionName"] == f"{config.prefix}-head"
    ]
    environment = {e["Name"]: e["Value"] for e in definition["ContainerProperties"]["Environment"]}
    assert environment[JOB_DEFINITION_PREFIX_VARIABLE] == config.prefix
    (repository,) = [p for _, p in resources_of(templates[f"{config.prefix}-batch"], "AWS::ECR::Repository")]
    assert repository_uri(config).endswith(f"/{repository['RepositoryName']}")


def test_head_role_registers_only_non_privileged_definitions_of_the_deployments_image(audited):
    """Policy evaluation of RegisterJobDefinition requests with the condition keys Batch sets."""
    config, audit = audited
    role = head_role(audit)
    ours = task_job_definitions_arn(config).replace("*", "align_reads-0f3c")
    image = f"{repository_uri(config)}:{config.batch.image_tag}"

    def may_register(definition: str = ours, **keys: str) -> bool:
        context = {"batch:Privileged": "false", "batch:Image": image} | {
            f"batch:{k}": v for k, v in keys.items()
        }
        return audit.allows(role, "batch:RegisterJobDefinition", definition, context)

    assert may_register()
    assert may_register(Image=f"{repository_uri(config)}@sha256:{'ab' * 32}")
    assert not may_register(Privileged="true")
    assert not audit.allows(role, "batch:RegisterJobDefinition", ours, {"batch:Image": image})
    assert not may_register(Image="docker.io/library/alpine:latest")
    assert not may_register(Image=f"{FOREIGN_ACCOUNT}.dkr.ecr.{config.region}.amazonaws.com/x:1")
    # the plugin's own names, or another deployment's, are not the head role's to register
    job_definitions = f"arn:aws:batch:{config.region}:{config.account}:job-definition"
    assert not may_register(f"{job_definitions}/snakejob-def-align_reads-0f3c")
    assert not may_register(f"{job_definitions}/seqpipe-other-snakejob-def-align_reads-0f3c")
    # and the task role is the only role it can hand to a job, to Batch/ECS only (roles are named
    # as the audit renders a role's ARN in a policy)
    (task_role,) = [principal for principal in audit.arns if "/TaskRole" in principal]
    assert not audit.allows(role, "iam:PassRole", task_role)
    for passed, service, allowed in (
        (task_role, "batch.amazonaws.com", True),
        (task_role, "lambda.amazonaws.com", False),
        (role, "batch.amazonaws.com", False),
    ):
        assert audit.allows(role, "iam:PassRole", passed, {"iam:PassedToService": service}) is allowed


def test_head_role_terminates_jobs_only(audited):
    config, audit = audited
    role = head_role(audit)
    terminations = [s for s in audit.statements if s.principal == role and "batch:TerminateJob" in s.actions]
    assert [s.resources for s in terminations] == [(f"arn:aws:batch:{config.region}:{config.account}:job/*",)]
    job = f"arn:aws:batch:{config.region}:{config.account}:job/5f3e0a4c-8a56-4c3f-9a0e-000000000001"
    assert audit.allows(role, "batch:TerminateJob", job)
    assert not audit.allows(role, "batch:TerminateJob", job.replace(":job/", ":job-queue/"))


def endpoint_audit(config: EnvConfig, templates: dict[str, dict]) -> dict[str, Audit]:
    """Each VPC endpoint's policy as statements of one principal, the endpoint, by service."""
    audits = {}
    for _, endpoint in resources_of(templates[f"{config.prefix}-network"], "AWS::EC2::VPCEndpoint"):
        name = endpoint["ServiceName"]  # a string, or an Fn::Join of the region
        if isinstance(name, dict):
            name = "".join(p if isinstance(p, str) else config.region for p in name["Fn::Join"][1])
        service = name.removeprefix(f"com.amazonaws.{config.region}.")
        statements = [
            Statement(
                "endpoint",
                s["Effect"],
                tuple(as_list(s["Action"])),
                tuple(as_list(s["Resource"])),
                {
                    op: {k: tuple(as_list(v)) for k, v in tests.items()}
                    for op, tests in s.get("Condition", {}).items()
                },
            )
            for s in endpoint["PolicyDocument"]["Statement"]
        ]
        audits[service] = Audit([], statements)
    return audits


def test_every_endpoint_has_a_policy_that_serves_only_this_account(env):
    config, templates = env
    audits = endpoint_audit(config, templates)
    assert {"s3", "dynamodb", "sns", "batch", "sts", "logs"} <= set(audits)
    for service, audit in audits.items():
        assert audit.statements, service
        # a statement for AWS-owned buckets (image layers, packages) reads objects only
        guarded = [s for s in audit.statements if s.conditions]
        assert all(
            s.conditions == {"StringEquals": {"aws:PrincipalAccount": (config.account,)}} for s in guarded
        )
        unguarded = [s for s in audit.statements if not s.conditions]
        assert all(s.actions == ("s3:GetObject",) and service == "s3" for s in unguarded), service


def test_s3_endpoint_reaches_the_deployments_buckets_and_no_other(env):
    """The exfiltration path: stolen task credentials writing to a bucket outside the deployment."""
    config, templates = env
    s3 = endpoint_audit(config, templates)["s3"]
    ours = {"aws:PrincipalAccount": config.account}
    raw = f"arn:aws:s3:::{bucket_name(config, 'raw')}/project/run/sample/reads.fastq.gz"
    assert s3.allows("endpoint", "s3:GetObject", raw, ours)
    assert s3.allows("endpoint", "s3:PutObject", raw.replace("-raw-", "-processed-"), ours)
    assert not s3.allows("endpoint", "s3:GetObject", raw, {"aws:PrincipalAccount": FOREIGN_ACCOUNT})
    for elsewhere in (
        "arn:aws:s3:::attacker-bucket/reads.fastq.gz",
        f"arn:aws:s3:::{config.prefix}-raw-{FOREIGN_ACCOUNT}-{config.region}/k",
    ):
        assert not s3.allows("endpoint", "s3:PutObject", elsewhere, ours)
        assert not s3.allows("endpoint", "s3:PutObject", elsewhere, {"aws:PrincipalAccount": FOREIGN_ACCOUNT})
    # the trail and access logs are not the workloads' to touch
    assert not s3.allows("endpoint", "s3:GetObject", f"arn:aws:s3:::{bucket_name(config, 'trail')}/x", ours)
    # ECR image layers are read from an AWS bucket of the region, and nothing else of it
    layers = f"arn:aws:s3:::prod-{config.region}-starport-layer-bucket/sha256/0"
    assert s3.allows("endpoint", "s3:GetObject", layers)
    assert not s3.allows("endpoint", "s3:PutObject", layers, ours)


def test_dynamodb_and_sns_endpoints_reach_the_deployments_tables_and_topic(env):
    config, templates = env
    audits = endpoint_audit(config, templates)
    ours = {"aws:PrincipalAccount": config.account}
    tables = f"arn:aws:dynamodb:{config.region}:{config.account}:table"
    for table in ("genomics-metadata", "processing-jobs", "quality-metrics"):
        assert audits["dynamodb"].allows(
            "endpoint", "dynamodb:PutItem", f"{tables}/{config.prefix}-{table}", ours
        )
    # the erasure audit is written by operators, never from inside the VPC
    for table in (f"{config.prefix}-erasure-audit", "other-table"):
        assert not audits["dynamodb"].allows("endpoint", "dynamodb:PutItem", f"{tables}/{table}", ours)
    topics = f"arn:aws:sns:{config.region}:{config.account}"
    assert audits["sns"].allows("endpoint", "sns:Publish", f"{topics}:{config.prefix}-alerts", ours)
    assert not audits["sns"].allows("endpoint", "sns:Publish", f"{topics}:someone-elses-topic", ours)
    assert not audits["sns"].allows(
        "endpoint", "sns:Publish", f"arn:aws:sns:{config.region}:{FOREIGN_ACCOUNT}:exfil", ours
    )


def test_workload_egress_goes_to_the_endpoints_only(env):
    config, templates = env
    network = templates[f"{config.prefix}-network"]
    groups = dict(resources_of(network, "AWS::EC2::SecurityGroup"))
    (workload,) = [
        i for i, p in groups.items() if p["GroupDescription"].startswith("Batch hosts and Lambdas")
    ]
    (endpoints,) = [i for i, p in groups.items() if p["GroupDescription"] == "VPC interface endpoints"]
    assert "SecurityGroupEgress" not in groups[workload]  # no inline rule, e.g. to 0.0.0.0/0
    rules = [
        p
        for _, p in resources_of(network, "AWS::EC2::SecurityGroupEgress")
        if p["GroupId"]["Fn::GetAtt"][0] == workload
    ]
    destinations = sorted(
        str(r.get("DestinationPrefixListId") or r["DestinationSecurityGroupId"]["Fn::GetAtt"][0])
        for r in rules
    )
    assert destinations == sorted([endpoints, config.vpc.s3_prefix_list, config.vpc.dynamodb_prefix_list])
    assert all((r["IpProtocol"], r["FromPort"], r["ToPort"]) == ("tcp", 443, 443) for r in rules)
    assert not any("CidrIp" in r or "CidrIpv6" in r for r in rules)
