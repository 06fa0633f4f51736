"""The Lambdas and the custom metrics they publish, declared once.

The CDK app (infra/) builds one function per entry of HANDLERS and reads the metrics for its alarms
and dashboard from here; the data-plane tests deploy the same handlers into the local endpoint; the
handlers publish through seqpipe.handlers.observability, which refuses a metric declared for another
function. Nothing here imports Powertools: the CDK app reads this without the Lambda dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Function base names (deployed as <prefix>-<base name>); each one's handler is `handler` in the
# module of the same name, seqpipe.handlers.<base name with "_">.
FUNCTIONS = (
    "validation-handler",
    "vcf-processor",
    "quality-metrics",
    "metadata-updater",
    "run-cleanup",
    "queue-watch",
)
HANDLERS = {name: f"seqpipe.handlers.{name.replace('-', '_')}.handler" for name in FUNCTIONS}
# The functions that read the Batch queues of runs (Settings.job_queues, head queue first).
JOB_QUEUE_READERS = ("run-cleanup", "queue-watch")

METRICS_NAMESPACE = "seqpipe"


@dataclass(frozen=True)
class CustomMetric:
    """A Powertools EMF metric: CloudWatch selects it by namespace, name and the dimension `service`,
    which is the base name of the function that publishes it."""

    name: str
    function: str
    unit: Literal["Count", "Bytes", "Seconds"] = "Count"

    def __post_init__(self) -> None:
        if self.function not in HANDLERS:
            raise ValueError(f"metric {self.name}: no function {self.function!r} in HANDLERS")


INPUTS_VALIDATED = CustomMetric("InputsValidated", "validation-handler")
OBJECTS_VALIDATED = CustomMetric("ObjectsValidated", "validation-handler")
BYTES_VALIDATED = CustomMetric("BytesValidated", "validation-handler", "Bytes")
OBJECTS_QUARANTINED = CustomMetric("ObjectsQuarantined", "validation-handler")
DUPLICATE_EVENTS = CustomMetric("DuplicateEvents", "validation-handler")
VCFS_SKIPPED = CustomMetric("VcfsSkipped", "vcf-processor")
VARIANTS_PROCESSED = CustomMetric("VariantsProcessed", "vcf-processor")
SAMPLES_QC_PASSED = CustomMetric("SamplesQcPassed", "quality-metrics")
QC_FAILURES = CustomMetric("QcFailures", "quality-metrics")
RUNS_STARTED = CustomMetric("RunsStarted", "metadata-updater")
DUPLICATE_STARTS = CustomMetric("DuplicateStarts", "metadata-updater")
STATUS_CHANGES = CustomMetric("StatusChanges", "metadata-updater")
SAMPLES_DELIVERED = CustomMetric("SamplesDelivered", "metadata-updater")
# A run whose head job or execution ran past its time limit: the run-timeouts alarm (a caught
# timeout ends the execution FAILED, so Step Functions' ExecutionsTimedOut never counts it).
RUN_TIMEOUTS = CustomMetric("RunTimeouts", "run-cleanup")
# Batch jobs (head and task) still active when their run's execution ended, terminated by the cleanup.
JOBS_TERMINATED = CustomMetric("JobsTerminated", "run-cleanup")
# Age of the oldest Batch job waiting RUNNABLE in the run queues (0: none waits); Batch publishes none.
OLDEST_RUNNABLE_SECONDS = CustomMetric("OldestRunnableSeconds", "queue-watch", "Seconds")
