"""Typed events of the four Lambdas (pydantic, validated by Powertools' parser)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ValidateInputs(BaseModel):
    action: Literal["validate_inputs"]
    run_id: str
    # empty for runs whose inputs the config names (e.g. the scheduled run)
    inputs: list[str] = []


class RecordRun(BaseModel):
    action: Literal["record_run"]
    run_id: str
    project: str
    samples: list[str] = Field(min_length=1)
    inputs: list[str] = []
    config_uri: str | None = None
    execution_arn: str | None = None


class Transition(BaseModel):
    action: Literal["transition"]
    run_id: str
    status: str
    cause: str | None = None
    # the version the caller last read; the change is refused if the record moved on since
    expected_version: int | None = None


class Finalize(BaseModel):
    action: Literal["finalize"]
    run_id: str
    project: str
    output_uri: str
    approved: list[str]
    delivery_bucket: str


class MetadataRequest(BaseModel):
    request: RecordRun | Transition | Finalize = Field(discriminator="action")


class CollectRunQc(BaseModel):
    """The run's config_uri may come along (the state machine passes it); the thresholds were applied
    by the pipeline, so it is ignored like any other extra field."""

    action: Literal["collect_run"] = "collect_run"
    run_id: str
    project: str
    samples: list[str] = Field(min_length=1)
    output_uri: str


class ProcessVcf(BaseModel):
    """A direct request; EventBridge S3 events are accepted too."""

    bucket: str
    key: str
