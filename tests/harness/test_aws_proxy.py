"""The proxy that benchmarks count bytes with and tests inject faults through must itself be right:
a known transfer is counted to the byte, and injected faults reach the client as AWS errors that
boto3 retries (or gives up on) as it would against AWS."""

from __future__ import annotations

import os

import boto3
import pytest
from aws_proxy import FaultRule
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

pytestmark = pytest.mark.aws


def _client(service: str, attempts: int):
    return boto3.client(
        service, config=Config(retries={"mode": "standard", "max_attempts": attempts}, connect_timeout=2)
    )


def test_known_download_and_upload_are_counted_to_the_byte(aws_via_proxy) -> None:
    s3 = _client("s3", 1)
    s3.create_bucket(Bucket="counted")
    payload = os.urandom(3 * 1024 * 1024 + 17)
    s3.put_object(Bucket="counted", Key="dir/blob.bin", Body=payload)
    assert s3.get_object(Bucket="counted", Key="dir/blob.bin")["Body"].read() == payload
    ranged = s3.get_object(Bucket="counted", Key="dir/blob.bin", Range="bytes=100-1123")["Body"].read()
    assert len(ranged) == 1024

    log = aws_via_proxy.requests()
    by_operation = {}
    for request in log:
        by_operation.setdefault(request.operation, []).append(request)
    assert {r.service for r in log} == {"s3"}
    (put,) = by_operation["PutObject"]
    assert put.bytes_in >= len(payload) and put.status == 200
    whole, part = by_operation["GetObject"]
    assert (whole.bytes_out, part.bytes_out) == (len(payload), 1024)
    assert by_operation["CreateBucket"][0].path == "/counted"


def test_throttling_is_retried_and_counted_as_injected(aws_via_proxy) -> None:
    dynamodb = _client("dynamodb", 5)
    dynamodb.create_table(
        TableName="t",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
    )
    aws_via_proxy.inject(FaultRule(service="dynamodb", operation="PutItem", status=400, limit=2))
    dynamodb.put_item(TableName="t", Item={"k": {"S": "once"}})

    puts = [r for r in aws_via_proxy.requests() if r.operation == "PutItem"]
    assert [r.fault for r in puts] == ["status 400", "status 400", None]
    assert dynamodb.scan(TableName="t")["Count"] == 1


def test_a_dropped_connection_surfaces_when_retries_run_out(aws_via_proxy) -> None:
    s3 = _client("s3", 1)
    s3.create_bucket(Bucket="dropped")
    aws_via_proxy.inject(FaultRule(service="s3", operation="PutObject", drop=True))
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        s3.put_object(Bucket="dropped", Key="k", Body=b"x")
    aws_via_proxy.inject()
    s3.put_object(Bucket="dropped", Key="k", Body=b"x")
    # urllib3 resends once on a dropped keep-alive connection whatever botocore's retry budget
    faults = [r.fault for r in aws_via_proxy.requests() if r.operation == "PutObject"]
    assert faults[-1] is None and faults[:-1] and set(faults[:-1]) == {"drop"}


def test_server_errors_reach_a_client_without_retries_as_the_aws_error(aws_via_proxy) -> None:
    s3 = _client("s3", 1)
    s3.create_bucket(Bucket="slow")
    aws_via_proxy.inject(FaultRule(service="s3", operation="HeadBucket", status=503))
    with pytest.raises(ClientError) as raised:
        s3.head_bucket(Bucket="slow")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
