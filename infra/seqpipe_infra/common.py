"""Conventions shared by every stack: names, tags, workflow roles, log groups, data buckets, event rules."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from seqpipe_infra.config import PROJECT, EnvConfig

# Cost-allocation tags. `run` is the run id on everything a run creates (Batch jobs, executions);
# long-lived resources carry this value so that Cost Explorer can tell them apart.
SHARED_RUN_TAG = "shared"
# Every role that runs workflow code lives under this IAM path, so that the buckets can deny
# s3:DeleteBucket to all of them with one condition and without referencing roles across stacks.
WORKFLOW_ROLE_PATH_PART = "workflow"


def cost_tags(config: EnvConfig, run: str = SHARED_RUN_TAG) -> dict[str, str]:
    return {"project": PROJECT, "environment": config.environment, "run": run}


def apply_cost_tags(scope: Construct, config: EnvConfig) -> None:
    for key, value in cost_tags(config).items():
        cdk.Tags.of(scope).add(key, value)


def workflow_role_path(config: EnvConfig) -> str:
    return f"/{config.prefix}/{WORKFLOW_ROLE_PATH_PART}/"


def workflow_role_arn_pattern(config: EnvConfig) -> str:
    return f"arn:aws:iam::{config.account}:role{workflow_role_path(config)}*"


def erasure_role_name(config: EnvConfig) -> str:
    return f"{config.prefix}-erasure"


def erasure_role_arn(config: EnvConfig) -> str:
    """The erasure role (data stack): of the workflow roles, the one that may delete raw objects."""
    return f"arn:aws:iam::{config.account}:role{workflow_role_path(config)}{erasure_role_name(config)}"


def workflow_role(
    scope: Construct, id: str, config: EnvConfig, assumed_by: iam.IPrincipal, description: str
) -> iam.Role:
    """A role that runs workflow code; it may never delete a bucket (the S3 storage plugin
    deletes buckets it has emptied), whatever else is granted to it later."""
    role = iam.Role(
        scope, id, assumed_by=assumed_by, path=workflow_role_path(config), description=description
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="NeverDeleteBuckets",
            effect=iam.Effect.DENY,
            actions=["s3:DeleteBucket"],
            resources=[f"arn:aws:s3:::{config.prefix}-*"],
        )
    )
    return role


def removal_policy(config: EnvConfig) -> cdk.RemovalPolicy:
    return cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY


def log_group(scope: Construct, id: str, config: EnvConfig, name: str, key: kms.IKey) -> logs.LogGroup:
    """An encrypted log group with the environment's retention (no LogRetention custom resource)."""
    return logs.LogGroup(
        scope,
        id,
        log_group_name=name,
        retention=logs.RetentionDays(_retention_enum_name(config.log_retention_days)),
        encryption_key=key,
        removal_policy=removal_policy(config),
    )


def _retention_enum_name(days: int) -> str:
    by_days = {
        1: "ONE_DAY",
        3: "THREE_DAYS",
        5: "FIVE_DAYS",
        7: "ONE_WEEK",
        14: "TWO_WEEKS",
        30: "ONE_MONTH",
        60: "TWO_MONTHS",
        90: "THREE_MONTHS",
        120: "FOUR_MONTHS",
        150: "FIVE_MONTHS",
        180: "SIX_MONTHS",
        365: "ONE_YEAR",
        400: "THIRTEEN_MONTHS",
        545: "EIGHTEEN_MONTHS",
        731: "TWO_YEARS",
        1096: "THREE_YEARS",
        1827: "FIVE_YEARS",
        2192: "SIX_YEARS",
        2557: "SEVEN_YEARS",
        2922: "EIGHT_YEARS",
        3288: "NINE_YEARS",
        3653: "TEN_YEARS",
    }
    return by_days[days]


def data_bucket(
    scope: Construct,
    id: str,
    config: EnvConfig,
    *,
    name: str,
    key: kms.IKey,
    access_logs: s3.IBucket,
    log_prefix: str,
    object_lock: bool = False,
    retention: s3.ObjectLockRetention | None = None,
    **props,
) -> s3.Bucket:
    """A bucket of patient data: versioned, KMS-encrypted with a bucket key, TLS 1.2 only, private,
    owned by the account, with access logs; Object Lock where asked (a lock can only be set at
    creation), with `retention` as its default."""
    return s3.Bucket(
        scope,
        id,
        bucket_name=name,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,
        object_lock_enabled=True if object_lock else None,
        object_lock_default_retention=retention,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=True,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=log_prefix,
        removal_policy=removal_policy(config),
        **props,
    )


def event_pattern(pattern: dict) -> events.EventPattern:
    """An EventBridge pattern written as the JSON the service takes (so tests can match events with it)."""
    return events.EventPattern(
        source=pattern.get("source"), detail_type=pattern.get("detail-type"), detail=pattern.get("detail")
    )
