"""S3 events as EventBridge delivers them to the validation handler.

Each event gets the next sequencer, as S3 gives every change of a key a greater one than the last
(the handler orders the events of a key by it), unless the test names one to deliver out of order.
"""

from __future__ import annotations

import itertools
from typing import Any

# the width and magnitude of S3's sequencers (18 hex digits)
_SEQUENCERS = itertools.count(0x0062E99A88DC407460)


def next_sequencer() -> str:
    return f"{next(_SEQUENCERS):018X}"


def object_created(
    bucket: str, key: str, size: int, etag: str, sequencer: str | None = None, version_id: str | None = None
) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": key, "size": size, "etag": etag, "sequencer": sequencer or next_sequencer()}
    if version_id:
        obj["version-id"] = version_id
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-26T10:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": obj,
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "1.2.3.4",
            "reason": "PutObject",
        },
    }
