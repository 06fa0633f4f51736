"""A run's QC into the quality-metrics table: the pipeline's qc/qc_summary.json, recorded as it is.

The pipeline computes metrics and verdicts once (seqpipe.qc). The quality-metrics Lambda (outputs on
S3) and `seqpipe run --record` (outputs on local disk) both record that summary through this module,
so a sample has the same verdict in qc/qc_summary.tsv, in DynamoDB and on the dashboard.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from botocore.exceptions import ClientError

from seqpipe.aws.repositories import QualityRepository
from seqpipe.qc.summary import QcSummary
from seqpipe.qc.verdicts import PASS
from seqpipe.storage.location import Location, locate

SUMMARY = "qc/qc_summary.json"


class QcInputError(Exception):
    """The run's QC summary is missing, unreadable or lacks a sample; the message names the file."""


def read_summary(summary: Location) -> QcSummary:
    try:
        return QcSummary.from_json(summary.read_text())
    except FileNotFoundError:
        raise QcInputError(f"{summary} not found: the workflow did not write its QC summary") from None
    except ValueError as error:  # JSON, encoding or layout
        raise QcInputError(f"{summary}: {error}") from None
    except (OSError, ClientError) as error:
        raise QcInputError(f"{summary} could not be read: {error}") from None


def collect_run(
    repo: QualityRepository, run_id: str, project: str, samples: list[str], output_uri: str
) -> dict[str, Any]:
    """One QC item per sample of the run, from the summary in its outdir (s3:// URI or local path).

    Returns the samples that passed and failed, and their metrics.
    """
    location = locate(output_uri).join(SUMMARY)
    summary = read_summary(location)
    missing = [s for s in samples if s not in summary.samples]
    if missing:
        raise QcInputError(f"{location} has no QC for sample(s) {', '.join(missing)}")
    passed, failed = [], []
    for name in samples:
        sample = summary.samples[name]
        repo.put(name, run_id, project, sample.metrics, [asdict(c) for c in sample.checks], sample.verdict)
        (passed if sample.verdict == PASS else failed).append(name)
    return {"passed": passed, "failed": failed, "metrics": {s: summary.samples[s].metrics for s in samples}}
