"""Least-privilege grants on the data, with explicit action lists (no wildcard actions on data).

Buckets and tables are addressed by their deterministic names (not cross-stack tokens), so that the
wildcard object/index ARNs a grant needs are known here and acknowledged here, with the reason,
exactly as cdk-nag reports them. The action sets live in permissions.py (shared with the IAM audit).
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

from seqpipe_infra.compliance import acknowledge
from seqpipe_infra.config import EnvConfig
from seqpipe_infra.permissions import (
    DYNAMODB_ACTIONS,
    KMS_ACTIONS,
    S3_BUCKET_ACTIONS,
    S3_OBJECT_ACTIONS,
    Access,
    bucket_arn,
    table_arn,
)

_WILDCARD_REASON = (
    "Object keys and index names are data, not infrastructure: access is limited to one named bucket "
    "(and key prefix) or one named table with an explicit list of actions."
)


def grant_bucket(
    role: iam.Role,
    bucket_name: str,
    key: kms.IKey | None,
    access: Access,
    prefix: str = "",
    *,
    suffix: str = "",
    only: tuple[str, ...] = (),
) -> None:
    """`access` on the objects `<prefix>*<suffix>`; `only` narrows it to some of its actions. Without
    a key, no use of the bucket's key (a bucket of another region, whose key no reference reaches)."""
    objects = f"{bucket_arn(bucket_name)}/{prefix}*{suffix}"
    bucket_actions, object_actions = _narrowed(only, S3_BUCKET_ACTIONS[access], S3_OBJECT_ACTIONS[access])
    if bucket_actions:
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=bucket_actions, resources=[bucket_arn(bucket_name)])
        )
    if object_actions:
        role.add_to_principal_policy(iam.PolicyStatement(actions=object_actions, resources=[objects]))
        acknowledge(role, _WILDCARD_REASON, f"AwsSolutions-IAM5[Resource::{objects}]")
    if key is not None:
        grant_key(role, key, access)


def grant_table(
    role: iam.Role,
    config: EnvConfig,
    table_name: str,
    key: kms.IKey,
    access: Access,
    *,
    only: tuple[str, ...] = (),
) -> None:
    arn = table_arn(config, table_name)
    (actions,) = _narrowed(only, DYNAMODB_ACTIONS[access])
    role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[arn, f"{arn}/index/*"]))
    acknowledge(role, _WILDCARD_REASON, f"AwsSolutions-IAM5[Resource::{arn}/index/*]")
    grant_key(role, key, access)


def _narrowed(only: tuple[str, ...], *action_sets: tuple[str, ...]) -> list[list[str]]:
    """Each action set, restricted to `only` (all of it when `only` is empty). `only` may name
    nothing outside the sets, so that a narrowed grant is still classified by the same access."""
    unknown = set(only) - {action for actions in action_sets for action in actions}
    if unknown:
        raise ValueError(f"not actions of this access: {', '.join(sorted(unknown))}")
    return [[a for a in actions if not only or a in only] for actions in action_sets]


def grant_key(role: iam.Role, key: kms.IKey, access: Access) -> None:
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(KMS_ACTIONS[access]), resources=[key.key_arn])
    )


def grant_publish(role: iam.Role, topic: sns.ITopic, key: kms.IKey) -> None:
    """sns:Publish to the encrypted alerts topic (the L2 grant would add kms:GenerateDataKey*)."""
    role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]))
    grant_key(role, key, Access.WRITE)


def acknowledge_unscoped(role: iam.Role, reason: str) -> None:
    """For the APIs that support no resource-level permissions (X-Ray, Describe*, log delivery)."""
    acknowledge(role, reason, "AwsSolutions-IAM5[Resource::*]")
