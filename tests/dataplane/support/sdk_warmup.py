"""Imported once by the fork server of the delivery processes (tests/dataplane/support/deliveries.py):
the SDK reads its service models here, as a warm Lambda runtime has them, so that a hundred forked
invocations create their clients without each reading them again. No client made here sends a request
(the forked processes share no connection)."""

import boto3

boto3.setup_default_session(region_name="us-east-1")
boto3.resource("dynamodb")
boto3.client("s3")
