"""Data-access action sets and ARNs, without CDK (the IAM audit and the scripts import this).

The grants (access.py) and the IAM audit (iam_audit.py) use the same action sets, so "what a role
may do" and "what the audit calls read/write/erase" cannot drift apart.
"""

from __future__ import annotations

import fnmatch
from enum import StrEnum

from seqpipe_infra.config import EnvConfig


class Access(StrEnum):
    READ = "read"
    WRITE = "write"
    ERASE = "erase"


S3_OBJECT_ACTIONS = {
    Access.READ: ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
    # PutObjectVersionTagging: the validation handler tags the object version an event names
    Access.WRITE: (
        "s3:PutObject",
        "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging",
        "s3:AbortMultipartUpload",
        "s3:DeleteObject",
    ),
    # permanent deletion: every version of an object (a plain DeleteObject only adds a delete marker),
    # through the raw bucket's governance-mode Object Lock (never through a legal hold)
    Access.ERASE: ("s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"),
}
S3_BUCKET_ACTIONS = {
    Access.READ: ("s3:ListBucket", "s3:GetBucketLocation"),
    Access.WRITE: ("s3:ListBucketMultipartUploads",),
    Access.ERASE: ("s3:ListBucketVersions",),
}
DYNAMODB_ACTIONS = {
    Access.READ: (
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DescribeTable",
    ),
    Access.WRITE: ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"),
    Access.ERASE: ("dynamodb:DeleteItem",),
}
KMS_ACTIONS = {
    Access.READ: ("kms:Decrypt", "kms:DescribeKey"),
    Access.WRITE: ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"),
    Access.ERASE: ("kms:Decrypt", "kms:DescribeKey"),
}


def classify(action: str) -> set[Access]:
    """Which kinds of data access an IAM action (possibly with wildcards) amounts to."""
    found: set[Access] = set()
    for table in (S3_OBJECT_ACTIONS, S3_BUCKET_ACTIONS, DYNAMODB_ACTIONS):
        for access, actions in table.items():
            if any(fnmatch.fnmatchcase(known.lower(), action.lower()) for known in actions):
                found.add(access)
    return found


def bucket_arn(bucket_name: str) -> str:
    return f"arn:aws:s3:::{bucket_name}"


def table_arn(config: EnvConfig, table_name: str) -> str:
    return f"arn:aws:dynamodb:{config.region}:{config.account}:table/{table_name}"
