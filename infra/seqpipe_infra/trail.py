"""What the CloudTrail trail records: every management event of every region, and the data events of
the data buckets, the access-log bucket and the tables (advanced event selectors, docs/infrastructure.md)."""

from __future__ import annotations

from aws_cdk import aws_cloudtrail as cloudtrail

from seqpipe.aws.tables import ALL_TABLES, ERASURE_AUDIT
from seqpipe_infra.config import EnvConfig
from seqpipe_infra.names import table_name
from seqpipe_infra.permissions import bucket_arn, table_arn

_Selector = cloudtrail.CfnTrail.AdvancedEventSelectorProperty
_Field = cloudtrail.CfnTrail.AdvancedFieldSelectorProperty


def recorded_tables(config: EnvConfig) -> list[str]:
    """The tables whose item-level calls the trail records: the three of the data plane and the
    erasure audit table."""
    return [table_arn(config, table_name(config, spec)) for spec in (*ALL_TABLES, ERASURE_AUDIT)]


def record_data_events(
    trail: cloudtrail.Trail, config: EnvConfig, data_buckets: list[str], access_log_bucket: str
) -> None:
    """Replace the trail's event selectors by advanced ones (CloudFormation takes one kind or the other).

    The trail's own bucket is left out on purpose: recording the trail's writes into it would record
    each delivery again in the next one. The access-log bucket is recorded except for PutObject, which
    is S3's own log delivery (the same loop); every read and every delete of it is recorded.
    """
    cfn = trail.node.default_child
    assert isinstance(cfn, cloudtrail.CfnTrail)
    data = _Field(field="eventCategory", equal_to=["Data"])
    cfn.advanced_event_selectors = [
        _Selector(
            name="management events", field_selectors=[_Field(field="eventCategory", equal_to=["Management"])]
        ),
        _Selector(
            name="data buckets: every object call",
            field_selectors=[
                data,
                _Field(field="resources.type", equal_to=["AWS::S3::Object"]),
                _Field(field="resources.ARN", starts_with=[f"{bucket_arn(name)}/" for name in data_buckets]),
            ],
        ),
        _Selector(
            name="access logs: reads and deletes",
            field_selectors=[
                data,
                _Field(field="resources.type", equal_to=["AWS::S3::Object"]),
                _Field(field="resources.ARN", starts_with=[f"{bucket_arn(access_log_bucket)}/"]),
                _Field(field="eventName", not_equals=["PutObject"]),
            ],
        ),
        _Selector(
            name="tables: every item call",
            field_selectors=[
                data,
                _Field(field="resources.type", equal_to=["AWS::DynamoDB::Table"]),
                _Field(field="resources.ARN", equal_to=recorded_tables(config)),
            ],
        ),
    ]
