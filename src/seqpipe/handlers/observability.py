"""Powertools set-up shared by the handlers: JSON logs keyed by run/sample, EMF metrics, X-Ray traces."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "seqpipe"


def tools(service: str) -> tuple[Logger, Metrics, Tracer]:
    return Logger(service=service), Metrics(namespace=NAMESPACE, service=service), Tracer(service=service)
