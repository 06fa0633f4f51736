"""Powertools set-up shared by the handlers: JSON logs keyed by run/sample, EMF metrics, X-Ray traces."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from seqpipe.handlers.registry import HANDLERS, METRICS_NAMESPACE, CustomMetric


def tools(function: str) -> tuple[Logger, Metrics, Tracer]:
    """Logger, metrics and tracer of one function (its base name in HANDLERS is their `service`)."""
    if function not in HANDLERS:
        raise ValueError(f"no function {function!r} in seqpipe.handlers.registry.HANDLERS")
    return (
        Logger(service=function),
        Metrics(namespace=METRICS_NAMESPACE, service=function),
        Tracer(service=function),
    )


def add_metric(metrics: Metrics, metric: CustomMetric, value: float) -> None:
    """Publish a declared metric. Alarms and the dashboard select it by the `service` its declaration
    names, so publishing it from another function would leave them watching nothing."""
    if metrics.service != metric.function:
        raise ValueError(f"{metric.name} is declared for {metric.function}, not {metrics.service}")
    metrics.add_metric(name=metric.name, unit=metric.unit, value=value)
