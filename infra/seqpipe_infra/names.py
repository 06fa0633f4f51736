"""Names derived from the environment, shared by the stacks that create and the ones that watch."""

from __future__ import annotations

from seqpipe.aws.settings import Settings
from seqpipe.aws.tables import ERASURE_AUDIT, JOBS, METADATA, QUALITY, TableSpec
from seqpipe_infra.config import EnvConfig

# Bucket purposes (names: bucket_name)
RAW, PROCESSED, DELIVERY = "raw", "processed", "delivery"


def function_name(config: EnvConfig, base: str) -> str:
    return f"{config.prefix}-{base}"


def alerts_topic_name(config: EnvConfig) -> str:
    return f"{config.prefix}-alerts"


def dead_letter_queue_name(config: EnvConfig) -> str:
    return f"{config.prefix}-dead-letters"


def trail_log_group_name(config: EnvConfig) -> str:
    """The CloudWatch Logs copy of the trail, where the monitoring stack's metric filters read."""
    return f"/seqpipe/{config.environment}/cloudtrail"


def state_machine_name(config: EnvConfig) -> str:
    return f"{config.prefix}-run"


def bucket_name(config: EnvConfig, purpose: str) -> str:
    """Globally unique and predictable, so that policies and audits can name buckets literally."""
    return f"{config.prefix}-{purpose}-{config.account}-{config.region}"


def table_name(config: EnvConfig, spec: TableSpec) -> str:
    """`<prefix>-<base>`, the convention seqpipe.aws.settings falls back to with SEQPIPE_PREFIX."""
    return f"{config.prefix}-{spec.base_name}"


def deployed_settings(config: EnvConfig, alert_topic_arn: str | None) -> Settings:
    """The names the package's code reads (Lambdas, the dashboard's tasks, the CLI), as the stacks
    create them."""
    return Settings(
        metadata_table=table_name(config, METADATA),
        jobs_table=table_name(config, JOBS),
        qc_table=table_name(config, QUALITY),
        raw_bucket=bucket_name(config, RAW),
        processed_bucket=bucket_name(config, PROCESSED),
        delivery_bucket=bucket_name(config, DELIVERY),
        alert_topic_arn=alert_topic_arn,
        audit_table=table_name(config, ERASURE_AUDIT),
    )


def repository_uri(config: EnvConfig) -> str:
    """The pipeline image repository (batch stack), named so that policies can name it literally."""
    return f"{config.account}.dkr.ecr.{config.region}.amazonaws.com/{config.prefix}/pipeline"


def task_job_definitions_arn(config: EnvConfig) -> str:
    """Every task job definition the head job may register (any revision)."""
    return f"arn:aws:batch:{config.region}:{config.account}:job-definition/{config.prefix}-snakejob-def-*"


def task_job_definition_conditions(config: EnvConfig) -> dict[str, dict[str, object]]:
    """RegisterJobDefinition: not privileged, and an image of this deployment's repository (by tag
    or digest)."""
    image = repository_uri(config)
    return {
        "Bool": {"batch:Privileged": "false"},
        "StringLike": {"batch:Image": [f"{image}:*", f"{image}@sha256:*"]},
    }
