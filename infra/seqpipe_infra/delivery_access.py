"""Per-recipient access to the delivery bucket: a known partner's account reads, with its own
credentials, the objects `seqpipe deliver --recipient <name>` tagged for it, and nothing else.

The grant is by object tag (seqpipe.aws.delivery.RECIPIENT_TAG), not by prefix, so that a delivery keeps
the one layout erasure knows (`<run>/<sample>/`). The bucket uses an S3 Bucket Key, so the data key's
encryption context is the bucket's ARN: the partner may decrypt through S3 for this bucket only, and S3
decides which objects by the bucket policy.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from seqpipe.aws.delivery import RECIPIENT_TAG
from seqpipe_infra.config import EnvConfig
from seqpipe_infra.names import DELIVERY, bucket_name
from seqpipe_infra.permissions import bucket_arn


def grant_partners(bucket: s3.Bucket, key: kms.Key, config: EnvConfig) -> None:
    for partner in config.partners:
        principal = iam.ArnPrincipal(partner.principal)
        sid = "".join(part.capitalize() for part in partner.name.split("-"))
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"Recipient{sid}ReadsItsDeliveries",
                principals=[principal],
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects("*")],
                conditions={"StringEquals": {f"s3:ExistingObjectTag/{RECIPIENT_TAG}": partner.name}},
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"Recipient{sid}DecryptsDeliveriesThroughS3",
                principals=[principal],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"s3.{config.region}.amazonaws.com",
                        # by name: the bucket's own ARN token would make the key depend on the bucket
                        "kms:EncryptionContext:aws:s3:arn": bucket_arn(bucket_name(config, DELIVERY)),
                    }
                },
            )
        )
