"""cdk-nag over what is created at run time: the job definitions the aws-batch executor registers for
task jobs (one per Snakemake job, never in a template) built as a template resource, as the executor
registers them, and the packs run over it.

What this shows is a limit: neither AwsSolutions nor HIPAA.Security has a rule for
AWS::Batch::JobDefinition, so even a privileged definition passes both. The controls of job
definitions are therefore this project's own template and registration tests (docs/infrastructure.md,
"Threats and controls"), not cdk-nag; this test fails when a pack starts checking them, so that the
documentation can say so.
"""

from __future__ import annotations

import aws_cdk as cdk
import cdk_nag
from aws_cdk import aws_batch as batch
from aws_cdk import aws_s3 as s3

PACKS = (cdk_nag.AwsSolutionsChecks, cdk_nag.HIPAASecurityChecks)


def task_job_definition(privileged: bool) -> cdk.Stack:
    """A task job definition with the properties the executor (snakemake-executor-plugin-aws-batch
    0.2, BatchJobBuilder.build_job_definition) registers."""
    stack = cdk.Stack(cdk.App(), "RunTime", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    batch.CfnJobDefinition(
        stack,
        "SnakejobDefinition",
        job_definition_name="snakejob-def-align_reads-0000",
        type="container",
        platform_capabilities=["EC2"],
        timeout=batch.CfnJobDefinition.TimeoutProperty(attempt_duration_seconds=21600),
        container_properties=batch.CfnJobDefinition.ContainerPropertiesProperty(
            image="111111111111.dkr.ecr.eu-west-1.amazonaws.com/seqpipe-dev/pipeline:latest",
            command=["/bin/bash", "-c", "snakemake --target-jobs align_reads ..."],
            environment=[batch.CfnJobDefinition.EnvironmentProperty(name="SEQPIPE_RUN_ID", value="RUN_1")],
            job_role_arn="arn:aws:iam::111111111111:role/seqpipe-dev/workflow/task",
            privileged=privileged,
            resource_requirements=[
                batch.CfnJobDefinition.ResourceRequirementProperty(type="VCPU", value="4"),
                batch.CfnJobDefinition.ResourceRequirementProperty(type="MEMORY", value="8192"),
            ],
        ),
    )
    return stack


def findings(stack: cdk.Stack) -> dict[str, set[str]]:
    """Pack → the construct paths it reports."""
    return {
        pack.__name__: {
            c.construct_path for v in pack().validate_scope(stack).violations for c in v.violating_resources
        }
        for pack in PACKS
    }


def test_no_pack_has_a_rule_for_batch_job_definitions_even_a_privileged_one_passes():
    stack = task_job_definition(privileged=True)
    # a bare bucket beside it: the packs do run over this stack and report what they have rules for
    s3.CfnBucket(stack, "Bare")
    reported = findings(stack)
    for pack in PACKS:
        assert "RunTime/Bare" in reported[pack.__name__], pack
        assert "RunTime/SnakejobDefinition" not in reported[pack.__name__], pack
