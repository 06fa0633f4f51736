"""The proxy that benchmarks count bytes with and tests inject faults through must itself be right:
a known transfer is counted to the byte, and injected faults reach the client as AWS errors that
boto3 retries (or gives up on) as it would against AWS."""

from __future__ import annotations

import http.client
import os
import time
from urllib.parse import urlsplit

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


def test_requests_are_attributed_to_the_signing_key_and_app_id(aws_via_proxy) -> None:
    s3 = _client("s3", 1)
    s3.create_bucket(Bucket="attributed")
    job = boto3.client(
        "s3",
        aws_access_key_id="batch-h1-job",
        aws_secret_access_key="testing",
        config=Config(user_agent_appid="job-42", retries={"mode": "standard", "max_attempts": 1}),
    )
    job.put_object(Bucket="attributed", Key="k", Body=b"x")

    (put,) = [r for r in aws_via_proxy.requests() if r.operation == "PutObject"]
    assert put.access_key == "batch-h1-job"
    assert "app/job-42" in put.user_agent


def test_a_read_the_client_abandons_is_counted_as_far_as_it_was_sent(aws_via_proxy) -> None:
    s3 = _client("s3", 1)
    s3.create_bucket(Bucket="abandoned")
    size = 8 * 1024 * 1024
    s3.put_object(Bucket="abandoned", Key="big", Body=os.urandom(size))
    url = urlsplit(s3.generate_presigned_url("get_object", Params={"Bucket": "abandoned", "Key": "big"}))
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    connection.request("GET", f"{url.path}?{url.query}", headers={"Range": "bytes=1000-"})
    first = connection.getresponse().read(100_000)
    connection.close()  # as htslib does once it has read its region

    (get,) = _eventually(lambda: [r for r in aws_via_proxy.requests() if r.operation == "GetObject"])
    assert len(first) == 100_000 and get.range == "bytes=1000-"
    assert get.fault == "client hung up"
    assert 100_000 <= get.bytes_out < size - 1000, "the proxy counted more than it sent, or all of it"


def test_faults_can_target_one_key_and_one_caller(aws_via_proxy) -> None:
    s3 = _client("s3", 1)
    s3.create_bucket(Bucket="targeted")
    for key in ("a.cram", "b.cram"):
        s3.put_object(Bucket="targeted", Key=key, Body=b"x")
    aws_via_proxy.inject(FaultRule(service="s3", path="/targeted/a.cram", access_key="batch-.*", status=403))
    job = boto3.client(
        "s3",
        aws_access_key_id="batch-h0-job",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )

    with pytest.raises(ClientError) as denied:
        job.get_object(Bucket="targeted", Key="a.cram")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert job.get_object(Bucket="targeted", Key="b.cram")["Body"].read() == b"x"
    assert s3.get_object(Bucket="targeted", Key="a.cram")["Body"].read() == b"x"


def _eventually(probe, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while not (found := probe()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found
