"""The DynamoDB tables of the data plane, built from the package's declarative specs."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from seqpipe.aws.layout import RUNS_PREFIX
from seqpipe.aws.tables import ALL_TABLES, ERASURE_AUDIT, JOBS, Key, TableSpec
from seqpipe_infra.access import grant_bucket, grant_table
from seqpipe_infra.common import erasure_role_name, removal_policy, workflow_role
from seqpipe_infra.compliance import acknowledge
from seqpipe_infra.config import EnvConfig
from seqpipe_infra.names import bucket_name, table_name
from seqpipe_infra.permissions import Access, table_arn
from seqpipe_infra.replica_stack import replica_bucket_name
from seqpipe_infra.storage_stack import DELIVERY, PROCESSED, RAW

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
_PROJECTIONS = {
    "ALL": dynamodb.ProjectionType.ALL,
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
}


# What the audit table's policy denies to everyone, and to everyone but the erasure role.
AUDIT_NEVER = ("dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:PartiQLDelete")
AUDIT_WRITES = ("dynamodb:PutItem", "dynamodb:UpdateItem")


def _attribute(key: Key | None) -> dynamodb.Attribute | None:
    return None if key is None else dynamodb.Attribute(name=key.name, type=_ATTRIBUTE_TYPES[key.type])


class DataStack(cdk.Stack):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, key: kms.IKey, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        self.tables: dict[str, dynamodb.Table] = {
            spec.base_name: self._table(spec, config, key) for spec in ALL_TABLES
        }
        self.erasure_role = self._erasure_role(config, key)
        self.audit_table = self._table(ERASURE_AUDIT, config, key, self._audit_policy(config))

    def _table(
        self, spec: TableSpec, config: EnvConfig, key: kms.IKey, policy: iam.PolicyDocument | None = None
    ) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            "".join(part.capitalize() for part in spec.base_name.split("-")),
            table_name=table_name(config, spec),
            partition_key=_attribute(spec.partition),
            sort_key=_attribute(spec.sort),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            deletion_protection=config.deletion_protection,
            time_to_live_attribute=spec.ttl_attribute,
            removal_policy=removal_policy(config),
            resource_policy=policy,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.partition),
                sort_key=_attribute(index.sort),
                projection_type=_PROJECTIONS[index.projection],
                non_key_attributes=list(index.non_key_attributes) or None,
            )
        acknowledge(
            table,
            "Point-in-time recovery (35 days of continuous backups) is the backup; an AWS Backup plan "
            "would add a second copy of patient data and is an account-level decision outside this app.",
            "HIPAA.Security-DynamoDBInBackupPlan",
        )
        cdk.CfnOutput(self, f"{table.node.id}Name", value=table.table_name)
        return table

    def _audit_policy(self, config: EnvConfig) -> iam.PolicyDocument:
        """The erasure audit table's own policy: whatever IAM grants elsewhere, nobody deletes or
        batch-writes its items, and nobody but the erasure role puts or updates one. The erasure code
        (seqpipe.aws.audit) only creates a record and closes an open one, with conditions."""
        table = table_arn(config, table_name(config, ERASURE_AUDIT))
        return iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="AuditRecordsAreNeverDeleted",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=list(AUDIT_NEVER),
                    resources=[table],
                ),
                iam.PolicyStatement(
                    sid="OnlyTheErasureRoleWritesAuditRecords",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=[*AUDIT_WRITES, "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate"],
                    resources=[table],
                    conditions={"ArnNotEquals": {"aws:PrincipalArn": self.erasure_role.role_arn}},
                ),
            ]
        )

    def _erasure_role(self, config: EnvConfig, key: kms.IKey) -> iam.Role:
        """What `seqpipe erase` needs to remove one sample everywhere (GDPR Art. 17) and record it.

        Assumed by an operator of this account with MFA; it can delete object versions and items but,
        like every data role, never a bucket. It is the one role that deletes raw objects, through the
        governance-mode Object Lock of raw (s3:BypassGovernanceRetention), but not through a legal hold
        (a held object makes the erasure FAILED, with the object named).
        """
        role = workflow_role(
            self,
            "ErasureRole",
            config,
            iam.AccountPrincipal(config.account).with_conditions(
                {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
            ),
            "GDPR erasure of one sample's data (seqpipe erase), MFA required",
        )
        role.node.default_child.add_property_override("RoleName", erasure_role_name(config))
        for purpose in (RAW, PROCESSED, DELIVERY):
            for access in (Access.READ, Access.ERASE):
                grant_bucket(role, bucket_name(config, purpose), key, access)
        if config.durability.raw_replica_region:
            # raw's replica holds every raw version: listing and deleting them needs no key
            replica = replica_bucket_name(config)
            grant_bucket(role, replica, None, Access.ERASE)
            cdk.CfnOutput(self, "RawReplicaBucket", value=replica)
        for spec in ALL_TABLES:
            for access in (Access.READ, Access.ERASE):
                grant_table(role, config, table_name(config, spec), key, access)
        # seqpipe.aws.erasure rewrites the run's QC summary and delivery manifest without the sample
        # (with their tags: a recipient's tag is what lets its partner read the manifest) and takes the
        # sample out of the run items
        rewrite = ("s3:PutObject", "s3:PutObjectTagging")
        grant_bucket(role, bucket_name(config, PROCESSED), key, Access.WRITE, RUNS_PREFIX, only=rewrite)
        grant_bucket(role, bucket_name(config, DELIVERY), key, Access.WRITE, only=rewrite)
        grant_table(role, config, table_name(config, JOBS), key, Access.WRITE, only=("dynamodb:UpdateItem",))
        # and opens and closes its audit record (never deletes one: the table's policy denies that)
        audit = table_name(config, ERASURE_AUDIT)
        grant_table(
            role, config, audit, key, Access.READ, only=("dynamodb:GetItem", "dynamodb:DescribeTable")
        )
        grant_table(role, config, audit, key, Access.WRITE, only=AUDIT_WRITES)
        cdk.CfnOutput(self, "ErasureRoleArn", value=role.role_arn)
        return role
