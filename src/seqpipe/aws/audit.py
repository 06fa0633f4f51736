"""The audit trail of erasures: one item per erasure in its own table (seqpipe.aws.tables.ERASURE_AUDIT).

An erasure is recorded STARTED before anything is deleted (a crash leaves that trace) and finished,
SUCCEEDED or FAILED, once. Both writes are conditional: `start` only creates, `finish` only moves a
STARTED record, so no call through here rewrites a finished record. The table itself (infra
data_stack.py) lets only the erasure role write, and nobody delete: the workload roles, which can
write the data-plane tables, cannot reach it.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from seqpipe.aws.items import Item, now_iso
from seqpipe.aws.repositories import from_dynamo, to_dynamo
from seqpipe.storage.s3 import client, resource


class AuditStatus(StrEnum):
    STARTED = "STARTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class AuditRecordClosed(RuntimeError):
    """The record exists already (start) or is finished (finish): it is never written again."""


def caller_arn() -> str:
    """Who is erasing: the ARN of the AWS identity the call runs as (an assumed role's session names
    the person who assumed it)."""
    return client("sts").get_caller_identity()["Arn"]


class ErasureAudit:
    def __init__(self, table_name: str) -> None:
        self.table = resource("dynamodb").Table(table_name)

    def start(self, sample: str, reason: str, requested_by: str, plan: dict[str, Any]) -> Item:
        item = {
            "erasure_id": str(uuid.uuid4()),
            "sample": sample,
            "reason": reason,
            "requested_by": requested_by,
            "status": AuditStatus.STARTED.value,
            "started_at": now_iso(),
            "plan": plan,
        }
        self._write(
            lambda: self.table.put_item(
                Item=to_dynamo(item), ConditionExpression=Attr("erasure_id").not_exists()
            ),
            item["erasure_id"],
        )
        return item

    def finish(self, erasure_id: str, status: AuditStatus, erased: dict[str, Any], remaining: list) -> Item:
        if status is AuditStatus.STARTED:
            raise ValueError("an erasure finishes SUCCEEDED or FAILED")
        response = self._write(
            lambda: self.table.update_item(
                Key={"erasure_id": erasure_id},
                UpdateExpression="SET #status = :status, finished_at = :now, erased = :erased, "
                "remaining = :remaining",
                ConditionExpression=Attr("status").eq(AuditStatus.STARTED.value),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_dynamo(
                    {":status": status.value, ":now": now_iso(), ":erased": erased, ":remaining": remaining}
                ),
                ReturnValues="ALL_NEW",
            ),
            erasure_id,
        )
        return from_dynamo(response["Attributes"])

    def get(self, erasure_id: str) -> Item | None:
        item = self.table.get_item(Key={"erasure_id": erasure_id}, ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else None

    @staticmethod
    def _write(call, erasure_id: str) -> Any:
        try:
            return call()
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise AuditRecordClosed(f"erasure record {erasure_id} is not open for this write") from None
            raise
