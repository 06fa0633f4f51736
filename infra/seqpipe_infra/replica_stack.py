"""A replica of the raw bucket in another region (config `durability.raw_replica_region`).

S3 replication copies every new raw object version into a bucket of the replica region, encrypted
with a key of that region and under the same governance-mode Object Lock. Deletions are not
replicated: a delete marker or a deleted version in raw leaves the replica as it was. The replica
stack is deployed before the storage stack (S3 checks the destination when replication is set up);
the two refer to each other by deterministic names, as no reference crosses regions.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from seqpipe_infra.common import data_bucket, erasure_role_arn, removal_policy, workflow_role_arn_pattern
from seqpipe_infra.compliance import acknowledge
from seqpipe_infra.config import EnvConfig
from seqpipe_infra.names import RAW, bucket_name
from seqpipe_infra.permissions import bucket_arn

REPLICA = "raw-replica"
# A replica is read only to recover; Deep Archive keeps a second copy of every raw file cheaply
# (a recovery restores it first, in up to 48 hours).
REPLICA_STORAGE_CLASS = "DEEP_ARCHIVE"
ACCESS_LOG_ACKNOWLEDGEMENT = (
    "This is the server-access-log target: S3 access logging only supports SSE-S3 on the target bucket, "
    "so it cannot use a KMS key; the logs are versioned, TLS-only and stay in their region.",
    "HIPAA.Security-S3DefaultEncryptionKMS",
    "HIPAA.Security-S3BucketReplicationEnabled",
)


def replica_config(config: EnvConfig) -> EnvConfig:
    """The environment's settings in its replica region (names of the replica's resources)."""
    assert config.durability.raw_replica_region is not None
    return config.at(config.account, config.durability.raw_replica_region)


def replica_bucket_name(config: EnvConfig) -> str:
    return bucket_name(replica_config(config), REPLICA)


def replica_key_alias(config: EnvConfig) -> str:
    return f"alias/{config.prefix}-{REPLICA}"


def access_log_bucket(scope: Construct, config: EnvConfig) -> s3.Bucket:
    """The region's target of S3 server access logs (SSE-S3: access logging cannot write SSE-KMS)."""
    lc = config.lifecycle
    return s3.Bucket(
        scope,
        "AccessLogs",
        bucket_name=bucket_name(config, "access-logs"),
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=True,
        removal_policy=removal_policy(config),
        lifecycle_rules=[
            s3.LifecycleRule(
                id="expire-access-logs",
                expiration=cdk.Duration.days(lc.access_logs_expire_days),
                noncurrent_version_expiration=cdk.Duration.days(lc.noncurrent_expire_days),
                abort_incomplete_multipart_upload_after=cdk.Duration.days(lc.abort_multipart_days),
            )
        ],
    )


class ReplicaStack(cdk.Stack):
    """The replica bucket, its key and its access logs, in the replica region."""

    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        here = replica_config(config)
        key = kms.Key(
            self,
            "ReplicaKey",
            alias=replica_key_alias(config),
            description=f"{config.prefix}: the replica of raw patient data at rest",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        access_logs = access_log_bucket(self, here)
        acknowledge(access_logs, *ACCESS_LOG_ACKNOWLEDGEMENT)
        lock_days = config.durability.raw_lock_days
        self.bucket = data_bucket(
            self,
            "Replica",
            config,
            name=replica_bucket_name(config),
            key=key,
            access_logs=access_logs,
            log_prefix=f"{REPLICA}/",
            # S3 replicates from an Object Lock bucket only into one
            object_lock=True,
            retention=s3.ObjectLockRetention.governance(cdk.Duration.days(lock_days)) if lock_days else None,
        )
        # as on raw: no workflow role but the erasure role deletes a replicated object
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTheErasureRoleDeletesReplicas",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"],
                resources=[self.bucket.arn_for_objects("*")],
                conditions={
                    "ArnLike": {"aws:PrincipalArn": workflow_role_arn_pattern(config)},
                    "ArnNotEquals": {"aws:PrincipalArn": erasure_role_arn(config)},
                },
            )
        )
        acknowledge(
            self.bucket,
            "This bucket is the replica of raw; replicating the replica would add a third region.",
            "HIPAA.Security-S3BucketReplicationEnabled",
        )


def replicate_raw(scope: Construct, config: EnvConfig, raw: s3.Bucket, key: kms.IKey) -> iam.Role:
    """Replicate every raw object version, delete markers excepted, into the replica bucket."""
    source = bucket_arn(bucket_name(config, RAW))
    replica = bucket_arn(replica_bucket_name(config))
    region = config.durability.raw_replica_region
    role = iam.Role(
        scope,
        "RawReplicationRole",
        assumed_by=iam.ServicePrincipal("s3.amazonaws.com"),
        description="S3 replication of raw into the replica region",
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:GetReplicationConfiguration", "s3:ListBucket"], resources=[source])
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
                "s3:GetObjectRetention",
                "s3:GetObjectLegalHold",
            ],
            resources=[f"{source}/*"],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
            resources=[f"{replica}/*"],
        )
    )
    role.add_to_principal_policy(iam.PolicyStatement(actions=["kms:Decrypt"], resources=[key.key_arn]))
    # the replica key is known here by its alias only (no reference crosses regions)
    replica_keys = f"arn:aws:kms:{region}:{config.account}:key/*"
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["kms:Encrypt", "kms:GenerateDataKey"],
            resources=[replica_keys],
            conditions={"ForAnyValue:StringEquals": {"kms:ResourceAliases": replica_key_alias(config)}},
        )
    )
    acknowledge(
        role,
        "Replication reads every object version of raw and writes it under the same key in the replica "
        "bucket; the replica key is named by its alias (condition), as no reference crosses regions.",
        f"AwsSolutions-IAM5[Resource::{source}/*]",
        f"AwsSolutions-IAM5[Resource::{replica}/*]",
        f"AwsSolutions-IAM5[Resource::{replica_keys}]",
    )
    raw_cfn = raw.node.default_child
    assert isinstance(raw_cfn, s3.CfnBucket)
    raw_cfn.replication_configuration = s3.CfnBucket.ReplicationConfigurationProperty(
        role=role.role_arn,
        rules=[
            s3.CfnBucket.ReplicationRuleProperty(
                id="raw-to-replica-region",
                status="Enabled",
                priority=1,
                filter=s3.CfnBucket.ReplicationRuleFilterProperty(prefix=""),
                delete_marker_replication=s3.CfnBucket.DeleteMarkerReplicationProperty(status="Disabled"),
                source_selection_criteria=s3.CfnBucket.SourceSelectionCriteriaProperty(
                    sse_kms_encrypted_objects=s3.CfnBucket.SseKmsEncryptedObjectsProperty(status="Enabled")
                ),
                destination=s3.CfnBucket.ReplicationDestinationProperty(
                    bucket=replica,
                    storage_class=REPLICA_STORAGE_CLASS,
                    encryption_configuration=s3.CfnBucket.EncryptionConfigurationProperty(
                        replica_kms_key_id=f"arn:aws:kms:{region}:{config.account}:{replica_key_alias(config)}"
                    ),
                ),
            )
        ],
    )
    return role
