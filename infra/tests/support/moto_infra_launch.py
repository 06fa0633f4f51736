"""The project's moto launcher (tests/support/moto_launch.py) plus fixes that stacks deployed
through CloudFormation need (moto 5.2.5).

- AWS::KMS::Key tags arrive as Key/Value but moto's KMS tagger reads TagKey/TagValue
  (KeyError: 'TagKey' while creating the key).
- AWS::Batch::ComputeEnvironment without ServiceRole (AWS then uses the service-linked role
  AWSServiceRoleForBatch) fails with KeyError: 'ServiceRole'; here it gets that role, as in AWS.
  CDK writes the (case-insensitive) types in lower case ("managed", "spot"); moto wants upper case.
- AWS::S3::Bucket ignores VersioningConfiguration and NotificationConfiguration, so no EventBridge
  "Object Created" events would be sent; both are applied after the bucket is created.
- Fn::GetAtt on Batch compute environments, job queues and job definitions (their ...Arn
  attributes, which CDK uses) raises AttributeError: 'get_cfn_attribute'; they return the ARN.

(EventBridge Lambda targets and schedules are fixed in the shared launcher: the data-plane tests need
them too.)

Usage: python moto_infra_launch.py PORT
"""

from __future__ import annotations

import runpy
from pathlib import Path

from moto.batch import models as batch_models
from moto.kms import models as kms_models
from moto.s3 import models as s3_models

SHARED_LAUNCHER = Path(__file__).resolve().parents[3] / "tests" / "support" / "moto_launch.py"

_create_key = kms_models.KmsBackend.create_key


def _create_key_with_cfn_tags(self, policy, key_usage, key_spec, description, tags, *args, **kwargs):
    tags = [
        {"TagKey": tag.get("TagKey", tag.get("Key")), "TagValue": tag.get("TagValue", tag.get("Value"))}
        for tag in tags or []
    ]
    return _create_key(self, policy, key_usage, key_spec, description, tags, *args, **kwargs)


kms_models.KmsBackend.create_key = _create_key_with_cfn_tags

_create_compute_environment = batch_models.BatchBackend.create_compute_environment


def _create_compute_environment_with_linked_role(
    self, compute_environment_name, _type, state, compute_resources, service_role, *args, **kwargs
):
    # the parameter names are moto's: its API handler passes them as keywords
    if not service_role:
        iam = self.iam_backend
        linked = next((r for r in iam.roles.values() if r.name.lower() == "awsserviceroleforbatch"), None)
        if linked is None:
            linked = iam.create_service_linked_role("batch.amazonaws.com", "AWS Batch", "")
        service_role = linked.arn
    return _create_compute_environment(
        self, compute_environment_name, _type, state, compute_resources, service_role, *args, **kwargs
    )


def _compute_environment_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json["Properties"]
    backend = batch_models.batch_backends[account_id][region_name]
    return backend.create_compute_environment(
        properties.get("ComputeEnvironmentName") or resource_name,
        properties["Type"].upper(),  # CloudFormation accepts "managed"; moto only "MANAGED"
        properties.get("State", "ENABLED").upper(),
        _upper_type(batch_models.lowercase_first_key(properties["ComputeResources"])),
        properties.get("ServiceRole"),
    )


def _upper_type(resources: dict) -> dict:
    return {**resources, "type": resources["type"].upper()} if "type" in resources else resources


def _arn_attribute(self, attribute_name: str) -> str:
    return self.arn


for _model in (batch_models.ComputeEnvironment, batch_models.JobQueue, batch_models.JobDefinition):
    _model.get_cfn_attribute = _arn_attribute

batch_models.BatchBackend.create_compute_environment = _create_compute_environment_with_linked_role
batch_models.ComputeEnvironment.create_from_cloudformation_json = classmethod(_compute_environment_from_cfn)

_bucket_from_cfn = s3_models.FakeBucket.create_from_cloudformation_json.__func__


def _bucket_from_cfn_with_events(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    bucket = _bucket_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    properties = cloudformation_json.get("Properties", {})
    if properties.get("VersioningConfiguration", {}).get("Status"):
        bucket.versioning_status = properties["VersioningConfiguration"]["Status"]
    events = properties.get("NotificationConfiguration", {}).get("EventBridgeConfiguration", {})
    if events.get("EventBridgeEnabled"):
        bucket.set_notification_configuration({"EventBridgeConfiguration": {}})
    return bucket


s3_models.FakeBucket.create_from_cloudformation_json = classmethod(_bucket_from_cfn_with_events)

if __name__ == "__main__":
    runpy.run_path(str(SHARED_LAUNCHER), run_name="__main__")
