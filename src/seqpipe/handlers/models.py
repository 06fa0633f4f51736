"""Typed events of the Lambdas (pydantic, validated by Powertools' parser)."""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, Field, Json


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
    # the execution making the change; refused unless it owns the run
    execution_arn: str | None = None


class Finalize(BaseModel):
    action: Literal["finalize"]
    run_id: str
    output_uri: str
    approved: list[str]
    delivery_bucket: str
    execution_arn: str | None = None


class MetadataRequest(BaseModel):
    request: RecordRun | Transition | Finalize = Field(discriminator="action")


class CollectRunQc(BaseModel):
    """The thresholds were applied by the pipeline (its QC summary holds the verdicts)."""

    action: Literal["collect_run"] = "collect_run"
    run_id: str
    project: str
    samples: list[str] = Field(min_length=1)
    output_uri: str


class ProcessVcf(BaseModel):
    """A direct request; EventBridge S3 events are accepted too."""

    bucket: str
    key: str


class RunInput(BaseModel):
    """The part of an execution's input the cleanup needs."""

    run_id: str


class ExecutionStatusChange(BaseModel):
    """detail of Step Functions' "Step Functions Execution Status Change" event."""

    execution_arn: str = Field(alias="executionArn")
    state_machine_arn: str = Field(alias="stateMachineArn")
    name: str
    status: Literal["FAILED", "TIMED_OUT", "ABORTED"]
    # a JSON string; left out of the event (null) when the input is larger than the event may carry
    input: Json[RunInput] | None = None
    error: str | None = None
    cause: str | None = None


class RunEnded(EventBridgeModel):
    detail: ExecutionStatusChange
