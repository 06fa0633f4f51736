"""Buckets (raw, processed, delivery), the data key, access logs and the CloudTrail data-event trail.

The trail and its log group are encrypted with a key of their own (the audit key), so that nobody who
may use the data key, and no deletion of it, reaches the record of what was done with the data. Raw
data are kept from deletion: Object Lock (governance) where the environment sets a retention, a
replica in another region where it names one (replica_stack.py), and a bucket policy under which no
workflow role but the erasure role deletes a raw object.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from seqpipe.aws.layout import RUNS_PREFIX, WORK_PREFIX
from seqpipe.aws.quarantine import QUARANTINE_TAG
from seqpipe_infra.common import (
    data_bucket,
    erasure_role_arn,
    log_group,
    workflow_role_arn_pattern,
)
from seqpipe_infra.compliance import acknowledge
from seqpipe_infra.config import EnvConfig
from seqpipe_infra.delivery_access import grant_partners
from seqpipe_infra.names import DELIVERY, PROCESSED, RAW, bucket_name, trail_log_group_name
from seqpipe_infra.replica_stack import access_log_bucket, replicate_raw
from seqpipe_infra.trail import record_data_events

# Key layout the lifecycle rules rely on (docs/infrastructure.md, "Buckets").
PROCESSED_RUNS_PREFIX = RUNS_PREFIX  # a run's outputs, where the state machine puts them
PROCESSED_WORK_PREFIX = WORK_PREFIX  # per-run intermediates (source tarballs, scatter chunks)
QUARANTINE_PREFIX = "quarantine/"
# What only the erasure role may do to raw objects (the bucket policy denies it to every other
# workflow role); BypassGovernanceRetention would let a DeleteObjectVersion through the Object Lock.
RAW_DELETIONS = ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"]


class StorageStack(cdk.Stack):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        self.config = config
        lc = config.lifecycle

        self.key = self._key(
            "DataKey", "data", "patient data at rest (buckets, tables, logs, queues, topics)"
        )
        self.audit_key = self._key(
            "AuditKey", "audit", "audit logs at rest (the CloudTrail trail and its logs)"
        )

        # S3 server access logging cannot write to SSE-KMS buckets; this one uses SSE-S3.
        self.access_logs = access_log_bucket(self, config)
        acknowledge(
            self.access_logs,
            "S3 server access logging delivers only to buckets encrypted with SSE-S3, not SSE-KMS; every "
            "read and write of this bucket is recorded as a data event by the trail (trail.py).",
            "HIPAA.Security-S3DefaultEncryptionKMS",
        )
        acknowledge(
            self.access_logs,
            "Access logs are an audit copy, not patient data: S3 writes them again for as long as the "
            "buckets exist, and the trail records every access to them; one region, like the data.",
            "HIPAA.Security-S3BucketReplicationEnabled",
        )

        lock_days = config.durability.raw_lock_days
        self.raw = self._data_bucket(
            "Raw",
            RAW,
            # a deleted or overwritten raw version outlives its lock
            noncurrent_days=max(lc.noncurrent_expire_days, lock_days),
            object_lock=s3.ObjectLockRetention.governance(cdk.Duration.days(lock_days))
            if lock_days
            else None,
            rules=[
                s3.LifecycleRule(
                    id="raw-to-archive",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=cdk.Duration.days(lc.raw_to_glacier_ir_days),
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.DEEP_ARCHIVE,
                            transition_after=cdk.Duration.days(lc.raw_to_deep_archive_days),
                        ),
                    ],
                ),
            ],
        )
        # Quarantined objects (tagged by the validation handler) are kept but no workflow role may read
        # them; operators inspect them with their own roles (runbook "quarantined file").
        self.raw.add_to_resource_policy(
            iam.PolicyStatement(
                sid="QuarantinedObjectsAreNotReadByWorkflows",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[self.raw.arn_for_objects("*")],
                conditions={
                    "Null": {f"s3:ExistingObjectTag/{QUARANTINE_TAG}": "false"},
                    "ArnLike": {"aws:PrincipalArn": workflow_role_arn_pattern(config)},
                },
            )
        )
        # No workflow role deletes raw data, whatever it is granted later; quarantine tags instead
        # (seqpipe.aws.quarantine). Only the erasure role (an operator, with MFA) removes a sample's raw
        # files, bypassing the governance lock.
        self.raw.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTheErasureRoleDeletesRawObjects",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=RAW_DELETIONS,
                resources=[self.raw.arn_for_objects("*")],
                conditions={
                    "ArnLike": {"aws:PrincipalArn": workflow_role_arn_pattern(config)},
                    "ArnNotEquals": {"aws:PrincipalArn": erasure_role_arn(config)},
                },
            )
        )
        if config.durability.raw_replica_region:
            replicate_raw(self, config, self.raw, self.key)
        # Object-created events go to EventBridge natively (no notification custom resource).
        raw_cfn = self.raw.node.default_child
        assert isinstance(raw_cfn, s3.CfnBucket)
        raw_cfn.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                event_bridge_enabled=True
            )
        )

        self.processed = self._data_bucket(
            "Processed",
            PROCESSED,
            [
                s3.LifecycleRule(
                    id="expire-intermediates",
                    prefix=PROCESSED_WORK_PREFIX,
                    expiration=cdk.Duration.days(lc.intermediate_expire_days),
                ),
                s3.LifecycleRule(
                    id="runs-intelligent-tiering",
                    prefix=PROCESSED_RUNS_PREFIX,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INTELLIGENT_TIERING,
                            transition_after=cdk.Duration.days(0),
                        )
                    ],
                ),
            ],
        )
        self.delivery = self._data_bucket(
            "Delivery",
            DELIVERY,
            [s3.LifecycleRule(id="expire-deliveries", expiration=cdk.Duration.days(lc.delivery_expire_days))],
        )

        grant_partners(self.delivery, self.key, config)
        self.trail = self._trail()

        for name, bucket in self.data_buckets.items():
            cdk.CfnOutput(self, f"{name}BucketName", value=bucket.bucket_name)

    @property
    def data_buckets(self) -> dict[str, s3.Bucket]:
        return {"Raw": self.raw, "Processed": self.processed, "Delivery": self.delivery}

    def _key(self, id: str, purpose: str, description: str) -> kms.Key:
        key = kms.Key(
            self,
            id,
            alias=f"alias/{self.config.prefix}-{purpose}",
            description=f"{self.config.prefix}: {description}",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        # CloudWatch Logs encrypts log groups with the key on behalf of this account only.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsInThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{self.region}:{self.account}:*"
                    }
                },
            )
        )
        return key

    def _data_bucket(
        self,
        id: str,
        purpose: str,
        rules: list[s3.LifecycleRule],
        *,
        key: kms.IKey | None = None,
        noncurrent_days: int | None = None,
        object_lock: s3.ObjectLockRetention | None = None,
    ) -> s3.Bucket:
        """A versioned, KMS-encrypted, TLS-only bucket (the data key unless `key`); its noncurrent
        versions expire after `noncurrent_days` (the lifecycle default)."""
        lc = self.config.lifecycle
        common_rules = [
            s3.LifecycleRule(
                id="housekeeping",
                abort_incomplete_multipart_upload_after=cdk.Duration.days(lc.abort_multipart_days),
                noncurrent_version_expiration=cdk.Duration.days(noncurrent_days or lc.noncurrent_expire_days),
            )
        ]
        bucket = data_bucket(
            self,
            id,
            self.config,
            name=bucket_name(self.config, purpose),
            key=key or self.key,
            access_logs=self.access_logs,
            log_prefix=f"{purpose}/",
            object_lock=object_lock is not None,
            retention=object_lock,
            lifecycle_rules=common_rules + rules,
        )
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="WorkflowRolesNeverDeleteBuckets",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:DeleteBucket"],
                resources=[bucket.bucket_arn],
                conditions={"ArnLike": {"aws:PrincipalArn": workflow_role_arn_pattern(self.config)}},
            )
        )
        if not (purpose == RAW and self.config.durability.raw_replica_region):
            acknowledge(
                bucket,
                "Not replicated: this environment names no replica region for raw data "
                "(durability.raw_replica_region), and processed, delivery and trail data are derived "
                "or kept by S3's multi-AZ storage and versioning; data stays in one region "
                "(data-residency of patient data under GDPR).",
                "HIPAA.Security-S3BucketReplicationEnabled",
            )
        return bucket

    def _trail(self) -> cloudtrail.Trail:
        trail_bucket = self._data_bucket("TrailLogs", "trail", [], key=self.audit_key)
        trail = cloudtrail.Trail(
            self,
            "DataEventsTrail",
            trail_name=f"{self.config.prefix}-data-events",
            bucket=trail_bucket,
            encryption_key=self.audit_key,
            enable_file_validation=True,
            send_to_cloud_watch_logs=True,
            cloud_watch_log_group=log_group(
                self, "TrailLogGroup", self.config, trail_log_group_name(self.config), self.audit_key
            ),
            include_global_service_events=True,
            # IAM, STS and console sign-in events, and whatever happens in another region
            is_multi_region_trail=True,
        )
        record_data_events(
            trail,
            self.config,
            [bucket_name(self.config, purpose) for purpose in (RAW, PROCESSED, DELIVERY)],
            bucket_name(self.config, "access-logs"),
        )
        self.audit_key.grant_encrypt_decrypt(iam.ServicePrincipal("cloudtrail.amazonaws.com"))
        return trail
