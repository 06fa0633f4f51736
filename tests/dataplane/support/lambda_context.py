"""The Lambda context a handler gets: the attributes Powertools reads, a request id and a deadline."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class LambdaContext:
    aws_request_id: str = "test-request"
    # the invocation's time limit; the validation handler holds an object's validation until then
    timeout_seconds: float = 60.0
    function_name: str = "test"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test"
    memory_limit_in_mb: int = 128
    log_group_name: str = "/aws/lambda/test"
    log_stream_name: str = "test"
    started: float = field(default_factory=time.time)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started + self.timeout_seconds - time.time()) * 1000))
