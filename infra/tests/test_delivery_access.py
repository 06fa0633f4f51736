"""Per-recipient access to deliveries in the storage stack: a partner of the config reads the objects
tagged for it, decrypts through S3 for the delivery bucket only, and the other partners' objects not."""

from __future__ import annotations

from dataclasses import replace

import aws_cdk as cdk
from aws_cdk.assertions import Template
from seqpipe_infra.app_builder import FEATURE_FLAGS
from seqpipe_infra.config import Partner, load_config
from seqpipe_infra.names import bucket_name
from seqpipe_infra.storage_stack import StorageStack

from seqpipe.aws.delivery import RECIPIENT_TAG

PARTNERS = (
    Partner("partner-lab", "arn:aws:iam::444444444444:root"),
    Partner("clinic", "arn:aws:iam::555555555555:role/seqpipe-downloads"),
)


def storage_template(partners: tuple[Partner, ...]) -> dict:
    config = replace(load_config("dev"), partners=partners)
    app = cdk.App(context=FEATURE_FLAGS)
    stack = StorageStack(
        app, "Storage", config=config, env=cdk.Environment(account=config.account, region=config.region)
    )
    return Template.from_stack(stack).to_json()


def policy_of(template: dict, type_: str, bucket_logical_id: str | None = None) -> list[dict]:
    for resource in template["Resources"].values():
        props = resource["Properties"]
        if resource["Type"] == type_ and (
            bucket_logical_id is None or props["Bucket"]["Ref"] == bucket_logical_id
        ):
            return (props.get("PolicyDocument") or props["KeyPolicy"])["Statement"]
    raise AssertionError(f"no {type_}")


def delivery_bucket_id(template: dict) -> str:
    name = bucket_name(load_config("dev"), "delivery")
    (logical_id,) = [
        i for i, r in template["Resources"].items()
        if r["Type"] == "AWS::S3::Bucket" and r["Properties"].get("BucketName") == name
    ]  # fmt: skip
    return logical_id


def test_each_partner_reads_only_the_delivered_objects_tagged_with_its_name():
    template = storage_template(PARTNERS)
    statements = policy_of(template, "AWS::S3::BucketPolicy", delivery_bucket_id(template))
    grants = {
        s["Principal"]["AWS"]: s for s in statements if s["Effect"] == "Allow" and "AWS" in s["Principal"]
    }
    assert set(grants) == {p.principal for p in PARTNERS}
    for partner in PARTNERS:
        grant = grants[partner.principal]
        assert grant["Action"] == "s3:GetObject"
        assert grant["Condition"] == {"StringEquals": {f"s3:ExistingObjectTag/{RECIPIENT_TAG}": partner.name}}
    # the TLS-only deny stays in force for them too
    assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in str(s["Condition"]) for s in statements)


def test_a_partner_decrypts_only_through_s3_for_the_delivery_bucket():
    template = storage_template(PARTNERS)
    key_statements = policy_of(template, "AWS::KMS::Key")
    # the account's own root is a token; the partners are written out
    by_principal = {
        s["Principal"]["AWS"]: s for s in key_statements if isinstance(s["Principal"].get("AWS"), str)
    }
    for partner in PARTNERS:
        grant = by_principal[partner.principal]
        assert grant["Action"] == "kms:Decrypt"
        conditions = grant["Condition"]["StringEquals"]
        assert conditions["kms:ViaService"] == "s3.eu-west-1.amazonaws.com"
        assert conditions["kms:EncryptionContext:aws:s3:arn"] == (
            f"arn:aws:s3:::{bucket_name(load_config('dev'), 'delivery')}"
        )


def test_without_partners_no_other_account_is_named():
    template = storage_template(())
    assert "444444444444" not in str(template) and RECIPIENT_TAG not in str(template)
