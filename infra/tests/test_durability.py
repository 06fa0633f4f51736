"""Raw data outlive mistakes and attacks: Object Lock and a replica where the environment asks for
them, no workload role that deletes raw objects, a key of their own for the audit logs, and an alarm
when a key is scheduled for deletion or disabled."""

from __future__ import annotations

import json

from seqpipe_infra.common import erasure_role_arn
from seqpipe_infra.iam_audit import Audit, Statement, audit_templates
from seqpipe_infra.key_guard import key_event_pattern
from seqpipe_infra.names import bucket_name
from seqpipe_infra.replica_stack import replica_bucket_name, replica_key_alias
from synthesized import as_list, resources_of


def bucket(template: dict, name: str) -> dict:
    (props,) = [p for _, p in resources_of(template, "AWS::S3::Bucket") if p.get("BucketName") == name]
    return props


def noncurrent_days(props: dict) -> int:
    (rule,) = [r for r in props["LifecycleConfiguration"]["Rules"] if r["Id"] == "housekeeping"]
    return rule["NoncurrentVersionExpiration"]["NoncurrentDays"]


def test_raw_is_locked_in_governance_mode_for_the_environments_retention(env):
    config, templates = env
    raw = bucket(templates[f"{config.prefix}-storage"], bucket_name(config, "raw"))
    days = config.durability.raw_lock_days
    if days:
        assert raw["ObjectLockEnabled"] is True
        assert raw["ObjectLockConfiguration"] == {
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Days": days, "Mode": "GOVERNANCE"}},
        }
    else:
        assert "ObjectLockEnabled" not in raw and "ObjectLockConfiguration" not in raw
    # a deleted or overwritten raw version is kept at least as long as its lock
    assert noncurrent_days(raw) == max(config.lifecycle.noncurrent_expire_days, days)


def test_retention_and_replication_are_set_per_environment(synthesis):
    dev, staging, prod = (synthesis.configs[e].durability for e in ("dev", "staging", "prod"))
    assert dev.raw_lock_days == 0 and dev.raw_replica_region is None  # disposable
    assert 0 < staging.raw_lock_days < prod.raw_lock_days
    assert prod.raw_replica_region not in (None, synthesis.configs["prod"].region)


def test_raw_is_replicated_to_another_region_where_configured(env, synthesis):
    config, templates = env
    raw = bucket(templates[f"{config.prefix}-storage"], bucket_name(config, "raw"))
    region = config.durability.raw_replica_region
    replica_stack = f"{config.prefix}-replica"
    if region is None:
        assert "ReplicationConfiguration" not in raw and replica_stack not in templates
        return
    (rule,) = raw["ReplicationConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["Filter"] == {"Prefix": ""}
    # a delete in raw (a marker) leaves the replica as it was
    assert rule["DeleteMarkerReplication"] == {"Status": "Disabled"}
    assert rule["SourceSelectionCriteria"] == {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
    destination = rule["Destination"]
    assert destination["Bucket"] == f"arn:aws:s3:::{replica_bucket_name(config)}"
    assert destination["EncryptionConfiguration"]["ReplicaKmsKeyID"] == (
        f"arn:aws:kms:{region}:{config.account}:{replica_key_alias(config)}"
    )
    manifest = synthesis.manifest()
    assert manifest["artifacts"][replica_stack]["environment"] == f"aws://{config.account}/{region}"
    # deployed first: S3 checks the destination when replication is configured
    assert replica_stack in manifest["artifacts"][f"{config.prefix}-storage"]["dependencies"]
    replica = bucket(templates[replica_stack], replica_bucket_name(config))
    assert replica["VersioningConfiguration"] == {"Status": "Enabled"}
    assert replica["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Days": config.durability.raw_lock_days,
        "Mode": "GOVERNANCE",
    }
    (encryption,) = replica["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    aliases = [p["AliasName"] for _, p in resources_of(templates[replica_stack], "AWS::KMS::Alias")]
    assert aliases == [replica_key_alias(config)]


def test_no_workload_role_can_delete_raw_objects_and_the_erasure_role_can(audited):
    """Policy evaluation of deletions of a raw object by every role of the environment, also after a
    grant of s3:* added later: only the erasure role (an operator, with MFA) deletes raw objects."""
    config, audit = audited
    raw_object = f"arn:aws:s3:::{bucket_name(config, 'raw')}/project/run/sample/reads.fastq.gz"
    workflow = {p: arn for p, arn in audit.arns.items() if f"/{config.prefix}/workflow/" in arn}
    (erasure,) = [p for p, arn in workflow.items() if arn == erasure_role_arn(config)]
    assert len(workflow) >= 8
    granted_everything = Audit(
        audit.resources,
        [*audit.statements, *(Statement(p, "Allow", ("s3:*",), ("*",)) for p in workflow)],
        arns=audit.arns,
    )
    for role in workflow:
        for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"):
            assert audit.allows(role, action, raw_object) == (role == erasure and action != "s3:DeleteObject")
            assert granted_everything.allows(role, action, raw_object) == (role == erasure), (role, action)
    # the validation handler quarantines by tag and may do nothing else to raw objects
    (validation,) = [p for p in workflow if "/ValidationHandlerRole" in p]
    writes = audit.access()[bucket_name(config, "raw")][validation]["write"]
    assert writes == ["s3:PutObjectTagging", "s3:PutObjectVersionTagging"]


def test_only_the_erasure_role_reaches_the_replica_and_it_can_erase_there(synthesis):
    """Replication never copies a delete, so an erasure must delete the replica's versions itself."""
    replicated = [c for c in synthesis.configs.values() if c.durability.raw_replica_region]
    assert replicated, "no environment has a replica"
    for config in replicated:
        audit = audit_templates(synthesis.outdir, config.prefix, config.account, config.region)
        replica = f"arn:aws:s3:::{replica_bucket_name(config)}"
        workflow = [p for p, arn in audit.arns.items() if f"/{config.prefix}/workflow/" in arn]
        (erasure,) = [p for p in workflow if audit.arns[p] == erasure_role_arn(config)]
        for role in workflow:
            assert audit.allows(role, "s3:ListBucketVersions", replica) == (role == erasure), role
            for action in ("s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"):
                allowed = audit.allows(role, action, f"{replica}/project/run/sample/reads.fastq.gz")
                assert allowed == (role == erasure), (role, action)


def test_audit_logs_are_encrypted_with_a_key_of_their_own(env):
    config, templates = env
    storage = templates[f"{config.prefix}-storage"]
    keys = {
        p["AliasName"]: p["TargetKeyId"]["Fn::GetAtt"][0] for _, p in resources_of(storage, "AWS::KMS::Alias")
    }
    data, audit = keys[f"alias/{config.prefix}-data"], keys[f"alias/{config.prefix}-audit"]
    assert data != audit
    for key in (data, audit):
        assert storage["Resources"][key]["Properties"]["EnableKeyRotation"] is True
    ((_, trail),) = resources_of(storage, "AWS::CloudTrail::Trail")
    assert trail["KMSKeyId"] == {"Fn::GetAtt": [audit, "Arn"]}
    trail_bucket = bucket(storage, bucket_name(config, "trail"))
    (encryption,) = trail_bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {"Fn::GetAtt": [audit, "Arn"]}
    (group,) = [
        p
        for _, p in resources_of(storage, "AWS::Logs::LogGroup")
        if p["LogGroupName"] == f"/seqpipe/{config.environment}/cloudtrail"
    ]
    assert group["KmsKeyId"] == {"Fn::GetAtt": [audit, "Arn"]}
    # CloudTrail may use the audit key, and nothing of the workloads does
    for template in templates.values():
        for _, policy in resources_of(template, "AWS::IAM::Policy"):
            for statement in policy["PolicyDocument"]["Statement"]:
                assert audit not in str(statement.get("Resource")), statement


def test_key_deletion_or_disabling_notifies_the_alerts_topic(env):
    config, templates = env
    monitoring = templates[f"{config.prefix}-monitoring"]
    (rule,) = [
        p for _, p in resources_of(monitoring, "AWS::Events::Rule") if p["Name"].endswith("-kms-key-deletion")
    ]
    assert rule["EventPattern"] == key_event_pattern() and rule["State"] == "ENABLED"
    ((topic, _),) = resources_of(monitoring, "AWS::SNS::Topic")
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": topic}
    assert "<detail-userIdentity-arn>" in target["InputTransformer"]["InputTemplate"]
    publishers = [
        s["Principal"]
        for _, policy in resources_of(monitoring, "AWS::SNS::TopicPolicy")
        for s in policy["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    assert {"Service": "events.amazonaws.com"} in publishers
    # the topic is encrypted with the data key: EventBridge may use it to publish
    storage = templates[f"{config.prefix}-storage"]
    ((_, key),) = [
        (i, p) for i, p in resources_of(storage, "AWS::KMS::Key") if "patient data" in p["Description"]
    ]
    granted = {
        action
        for s in key["KeyPolicy"]["Statement"]
        if "events.amazonaws.com" in as_list(s.get("Principal", {}).get("Service", []))
        for action in as_list(s["Action"])
    }
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= granted


def test_the_rule_matches_key_deletion_and_disabling_and_not_key_use(aws):
    """EventBridge's pattern matching on the local endpoint: the rule's pattern routes the recorded
    KMS calls to a queue standing in for the topic, and only the two it watches."""
    events, sqs = aws("events"), aws("sqs")
    queue = sqs.create_queue(QueueName="key-guard")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="key-guard", EventPattern=json.dumps(key_event_pattern()))
    events.put_targets(Rule="key-guard", Targets=[{"Id": "queue", "Arn": queue_arn}])
    calls = ("ScheduleKeyDeletion", "Decrypt", "DisableKey", "CancelKeyDeletion", "EnableKey")
    sent = events.put_events(Entries=[_kms_call(name) for name in calls])
    assert sent["FailedEntryCount"] == 0
    received: list[str] = []
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
        "Messages"
    ):
        received += [json.loads(m["Body"])["detail"]["eventName"] for m in messages]
    assert sorted(received) == ["DisableKey", "ScheduleKeyDeletion"]


def _kms_call(name: str) -> dict:
    """A KMS call recorded by CloudTrail, as it reaches EventBridge."""
    detail = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/admin/x"},
        "eventTime": "2026-12-07T12:00:00Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": name,
        "requestParameters": {"keyId": "arn:aws:kms:us-east-1:123456789012:key/1234"},
    }
    return {
        "Source": "aws.kms",
        "DetailType": "AWS API Call via CloudTrail",
        "Detail": json.dumps(detail),
    }
