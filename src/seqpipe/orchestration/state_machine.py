"""The run state machine (Amazon States Language), built in one place for CDK and for the tests.

Execution input (what `seqpipe run --cloud` sends):
    {"run_id": "RUN_1", "project": "P1", "samples": ["S1", ...],
     "inputs": ["s3://raw/...fastq.gz", ...], "config_uri": "s3://.../config.yaml"}

Flow: RecordRun (metadata-updater; records the attempt and this execution as the run's owner; a
duplicate start ends in AlreadyStarted) → ValidateInputs (validation-handler) → MarkRunning →
RunWorkflow (Snakemake head job, batch:submitJob.sync, with a time limit) → CollectQC (quality-metrics)
→ Finalize (metadata-updater: SUCCEEDED, sample verdicts, delivery of the QC-approved samples with a
checksum manifest) → Done. Any error after RecordRun is caught: MarkFailed (DynamoDB UpdateItem guarded
by the job lifecycle and by ownership: only the execution that owns the run may fail it) →
NotifyFailure (SNS) → RunFailed. The whole execution has a time limit too.

When an execution ends FAILED, TIMED_OUT or ABORTED (an aborted one runs no Catch), EventBridge
(`run_ended_pattern`) starts the run-cleanup Lambda: it ends the run it owns and terminates the run's
Batch jobs (seqpipe.aws.runs.end_run).

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
    """Step Functions Retry fields; the defaults keep test executions short. Deployed environments
    take theirs from their config (at least 6 attempts, exponential backoff with full jitter, so that
    the retries of many executions throttled at once spread out)."""

    interval_seconds: int = 1
    max_attempts: int = 2
    backoff_rate: float = 2.0
    max_delay_seconds: int | None = None
    jitter: bool = False

    def rule(self, errors: tuple[str, ...] | list[str]) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "ErrorEquals": list(errors),
            "IntervalSeconds": self.interval_seconds,
            "MaxAttempts": self.max_attempts,
            "BackoffRate": self.backoff_rate,
        }
        if self.max_delay_seconds is not None:
            rule["MaxDelaySeconds"] = self.max_delay_seconds
        if self.jitter:
            rule["JitterStrategy"] = "FULL"
        return rule


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
    # Throttling and service errors of the Lambda, Batch, DynamoDB and SNS calls.
    service_retry: RetryPolicy = field(default_factory=RetryPolicy)
    # RunWorkflow: the head job from submission to its end, its time waiting for capacity (RUNNABLE)
    # and Batch's own retries included; Batch's per-attempt timeout does not count RUNNABLE time.
    workflow_timeout_seconds: int = 600
    # The whole execution.
    timeout_seconds: int = 900


def head_job_retry_strategy(attempts: int) -> dict[str, Any]:
    """The head job definition's Batch retryStrategy: a lost host (a Spot reclaim, a failed instance:
    status reason "Host EC2 (instance i-…) terminated.") gets another attempt, and Snakemake resumes from
    the outputs already in S3; anything else, a pipeline's own non-zero exit first of all, ends the job
    (without the catch-all rule Batch would retry every failure). The state machine itself retries only
    Batch API errors on RunWorkflow, never a failed job."""
    return {
        "attempts": attempts,
        "evaluateOnExit": [
            {"onStatusReason": "Host EC2*", "action": "RETRY"},
            {"onReason": "*", "action": "EXIT"},
        ],
    }


def run_ended_pattern(state_machine_arn: str) -> dict[str, Any]:
    """EventBridge pattern of this state machine's executions that ended without success."""
    return {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"stateMachineArn": [state_machine_arn], "status": ["FAILED", "TIMED_OUT", "ABORTED"]},
    }


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
        "Retry": [refs.service_retry.rule(LAMBDA_TRANSIENT_ERRORS)],
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
            {
                "action": "transition",
                "run_id.$": "$.run_id",
                "status": JobStatus.RUNNING.value,
                "execution_arn.$": "$$.Execution.Id",
            },
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
            "TimeoutSeconds": refs.workflow_timeout_seconds,
            "ResultSelector": {"job_id.$": "$.JobId", "status.$": "$.Status"},
            "ResultPath": "$.workflow",
            # A failed head job is not retried here: Batch retried it if its host was lost
            # (head_job_retry_strategy); any other failure would fail again.
            "Retry": [refs.service_retry.rule(BATCH_TRANSIENT_ERRORS)],
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
                "output_uri.$": output_uri,
                "approved.$": "$.qc.result.passed",
                "delivery_bucket": refs.delivery_bucket,
                "execution_arn.$": "$$.Execution.Id",
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
                # Only the execution that owns the run fails it: a duplicate start, or an attempt
                # that ends after a newer one began, leaves the run alone.
                "ConditionExpression": "#status IN ({}) AND execution_arn = :execution".format(
                    ", ".join(f":from{i}" for i in range(len(failed_from)))
                ),
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":failed": {"S": JobStatus.FAILED.value},
                    ":error": {"S.$": "$.error.Error"},
                    ":cause": {"S.$": "$.error.Cause"},
                    ":now": {"S.$": "$$.State.EnteredTime"},
                    ":execution": {"S.$": "$$.Execution.Id"},
                    ":one": {"N": "1"},
                    **{f":from{i}": {"S": status} for i, status in enumerate(failed_from)},
                },
            },
            "ResultPath": None,
            "Retry": [refs.service_retry.rule(DYNAMODB_TRANSIENT_ERRORS)],
            # No job record to mark (RecordRun itself failed), or a run this execution does not own,
            # must not stop the alert.
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
                # The run, the error's name and the execution only: e-mail leaves the account, and the
                # run's input (samples, input keys) and error causes (they may quote them) would go
                # with it. The cause is in the job record: `seqpipe status <run>`.
                "Message": {
                    "run_id.$": "$.run_id",
                    "error.$": "$.error.Error",
                    "execution.$": "$$.Execution.Id",
                    "details": "the cause is in the job record: seqpipe status <run_id>",
                },
            },
            "ResultPath": None,
            "Retry": [refs.service_retry.rule(["SNS.SdkClientException", "SNS.ThrottledException"])],
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
        "TimeoutSeconds": refs.timeout_seconds,
        "States": states,
    }
