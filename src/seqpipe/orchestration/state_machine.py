"""The run state machine (Amazon States Language), built in one place for CDK and for the tests.

Execution input (what `seqpipe run --cloud` sends):
    {"run_id": "RUN_1", "project": "P1", "samples": ["S1", ...],
     "inputs": ["s3://raw/...fastq.gz", ...], "config_uri": "s3://.../config.yaml"}

Flow: RecordRun (metadata-updater; a duplicate start ends in AlreadyStarted) → ValidateInputs
(validation-handler) → MarkRunning → RunWorkflow (Snakemake head job, batch:submitJob.sync) →
CollectQC (quality-metrics) → Finalize (metadata-updater: SUCCEEDED, sample verdicts, delivery of the
QC-approved samples with a checksum manifest) → Done. Any error after RecordRun is caught: MarkFailed
(DynamoDB UpdateItem guarded by the job lifecycle) → NotifyFailure (SNS) → RunFailed.

CDK passes CloudFormation tokens as the refs and uses
`DefinitionBody.from_string(json.dumps(build_definition(refs)))`; tests pass moto ARNs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seqpipe.aws.layout import run_output_uri
from seqpipe.aws.transitions import JOB_LIFECYCLE, JobStatus

# Errors worth another attempt: throttling and service hiccups, plus our own TransientError
# (raised by handlers when e.g. an object is not visible yet). Input and logic errors are not retried.
LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "TransientError",
)
BATCH_TRANSIENT_ERRORS = (
    "Batch.AWSBatchException",
    "Batch.ServerException",
    "Batch.TooManyRequestsException",
)
DYNAMODB_TRANSIENT_ERRORS = (
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.ThrottlingException",
    "DynamoDB.InternalServerErrorException",
)


@dataclass(frozen=True)
class RetryPolicy:
    """Step Functions Retry fields; the defaults keep test executions short."""

    interval_seconds: int = 1
    max_attempts: int = 2
    backoff_rate: float = 2.0

    def rule(self, errors: tuple[str, ...] | list[str]) -> dict[str, Any]:
        return {
            "ErrorEquals": list(errors),
            "IntervalSeconds": self.interval_seconds,
            "MaxAttempts": self.max_attempts,
            "BackoffRate": self.backoff_rate,
        }


@dataclass(frozen=True)
class StateMachineRefs:
    validation_function_arn: str
    quality_metrics_function_arn: str
    metadata_updater_function_arn: str
    jobs_table: str
    job_queue_arn: str
    job_definition_arn: str
    alert_topic_arn: str
    processed_bucket: str
    delivery_bucket: str
    task_retry: RetryPolicy = field(default_factory=RetryPolicy)
    # A failed head job (Spot reclaim, host failure) is resubmitted; Snakemake resumes from the
    # outputs already in S3, so a retry costs only the unfinished jobs.
    workflow_retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=1))


def _lambda_task(
    function_arn: str,
    payload: dict[str, Any],
    refs: StateMachineRefs,
    next_state: str,
    result_path: str | None,
) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload": payload},
        "ResultSelector": {"result.$": "$.Payload"},
        "ResultPath": result_path,
        "Retry": [refs.task_retry.rule(LAMBDA_TRANSIENT_ERRORS)],
        "Catch": [_catch_all()],
        "Next": next_state,
    }


def _catch_all() -> dict[str, Any]:
    return {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "MarkFailed"}


def output_uri_expression(processed_bucket: str) -> str:
    """Where the run's outputs go (the pipeline's outdir): the layout's run output URI, with the run id
    filled in by Step Functions."""
    return f"States.Format('{run_output_uri(processed_bucket, '{}')}', $.run_id)"


def build_definition(refs: StateMachineRefs) -> dict[str, Any]:
    output_uri = output_uri_expression(refs.processed_bucket)
    failed_from = sorted(JOB_LIFECYCLE.sources(JobStatus.FAILED))
    states: dict[str, Any] = {
        "RecordRun": {
            **_lambda_task(
                refs.metadata_updater_function_arn,
                {
                    "action": "record_run",
                    "run_id.$": "$.run_id",
                    "project.$": "$.project",
                    "samples.$": "$.samples",
                    "inputs.$": "$.inputs",
                    "config_uri.$": "$.config_uri",
                    "execution_arn.$": "$$.Execution.Id",
                },
                refs,
                "IsDuplicate",
                "$.record",
            ),
        },
        "IsDuplicate": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.record.result.created", "BooleanEquals": False, "Next": "AlreadyStarted"}
            ],
            "Default": "ValidateInputs",
        },
        "AlreadyStarted": {"Type": "Succeed", "Comment": "the run was already recorded; nothing is redone"},
        "ValidateInputs": _lambda_task(
            refs.validation_function_arn,
            {"action": "validate_inputs", "run_id.$": "$.run_id", "inputs.$": "$.inputs"},
            refs,
            "MarkRunning",
            "$.validation",
        ),
        "MarkRunning": _lambda_task(
            refs.metadata_updater_function_arn,
            {"action": "transition", "run_id.$": "$.run_id", "status": JobStatus.RUNNING.value},
            refs,
            "RunWorkflow",
            None,
        ),
        "RunWorkflow": {
            "Type": "Task",
            "Resource": "arn:aws:states:::batch:submitJob.sync",
            "Parameters": {
                "JobName.$": "$.run_id",
                "JobQueue": refs.job_queue_arn,
                "JobDefinition": refs.job_definition_arn,
                # the run tag reaches the head job's ECS task, so Cost Explorer can bill it to the run
                "Tags": {"run.$": "$.run_id"},
                "PropagateTags": True,
                "ContainerOverrides": {
                    "Environment": [
                        {"Name": "SEQPIPE_RUN_ID", "Value.$": "$.run_id"},
                        {"Name": "SEQPIPE_CONFIG_URI", "Value.$": "$.config_uri"},
                        {"Name": "SEQPIPE_OUTPUT_URI", "Value.$": output_uri},
                    ]
                },
            },
            "ResultSelector": {"job_id.$": "$.JobId", "status.$": "$.Status"},
            "ResultPath": "$.workflow",
            "Retry": [
                refs.task_retry.rule(BATCH_TRANSIENT_ERRORS),
                refs.workflow_retry.rule(["States.TaskFailed"]),
            ],
            "Catch": [_catch_all()],
            "Next": "CollectQC",
        },
        "CollectQC": _lambda_task(
            refs.quality_metrics_function_arn,
            {
                "action": "collect_run",
                "run_id.$": "$.run_id",
                "project.$": "$.project",
                "samples.$": "$.samples",
                "output_uri.$": output_uri,
                "config_uri.$": "$.config_uri",
            },
            refs,
            "Finalize",
            "$.qc",
        ),
        "Finalize": _lambda_task(
            refs.metadata_updater_function_arn,
            {
                "action": "finalize",
                "run_id.$": "$.run_id",
                "project.$": "$.project",
                "output_uri.$": output_uri,
                "approved.$": "$.qc.result.passed",
                "delivery_bucket": refs.delivery_bucket,
            },
            refs,
            "Done",
            "$.delivery",
        ),
        "Done": {"Type": "Succeed"},
        "MarkFailed": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {
                "TableName": refs.jobs_table,
                "Key": {"job_id": {"S.$": "$.run_id"}},
                "UpdateExpression": "SET #status = :failed, error_name = :error, error_cause = :cause, "
                "updated_at = :now ADD version :one",
                "ConditionExpression": "#status IN ({})".format(
                    ", ".join(f":from{i}" for i in range(len(failed_from)))
                ),
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":failed": {"S": JobStatus.FAILED.value},
                    ":error": {"S.$": "$.error.Error"},
                    ":cause": {"S.$": "$.error.Cause"},
                    ":now": {"S.$": "$$.State.EnteredTime"},
                    ":one": {"N": "1"},
                    **{f":from{i}": {"S": status} for i, status in enumerate(failed_from)},
                },
            },
            "ResultPath": None,
            "Retry": [refs.task_retry.rule(DYNAMODB_TRANSIENT_ERRORS)],
            # No job record to mark (RecordRun itself failed) must not stop the alert.
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.mark_failed_error", "Next": "NotifyFailure"}
            ],
            "Next": "NotifyFailure",
        },
        "NotifyFailure": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {
                "TopicArn": refs.alert_topic_arn,
                "Subject": "seqpipe run failed",
                "Message.$": "States.JsonToString($)",
            },
            "ResultPath": None,
            "Retry": [refs.task_retry.rule(["SNS.SdkClientException", "SNS.ThrottledException"])],
            "Next": "RunFailed",
        },
        "RunFailed": {
            "Type": "Fail",
            "Error": "RunFailed",
            "Cause": "the run failed; the job record holds the error and cause, an alert was sent",
        },
    }
    return {
        "Comment": "seqpipe run: record, validate inputs, Snakemake on AWS Batch, QC, finalize and deliver",
        "StartAt": "RecordRun",
        "States": states,
    }
