"""The JSON API: every call is at most one DynamoDB Query (plus a GetItem by key), documented in
/openapi.json; every call needs a signed-in caller."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from seqpipe.aws.views import Delivery, RunDetail, RunSummary, SampleDetail, SampleQC, StepLog
from seqpipe.web.dependencies import RUN_LIMIT_DEFAULT, Data, Limit, StatusFilter, identity
from seqpipe.web.responses import ERRORS, ReportLink

router = APIRouter(prefix="/api", responses=ERRORS, dependencies=[Depends(identity)])


@router.get("/runs", response_model=list[RunSummary], tags=["runs"])
def api_runs(data: Data, status: StatusFilter = None, limit: Limit = RUN_LIMIT_DEFAULT) -> list[RunSummary]:
    """Runs, newest first, optionally with one status."""
    return data.runs(status=status.value if status else None, limit=limit)


@router.get("/runs/{run_id}", response_model=RunDetail, tags=["runs"])
def api_run(data: Data, run_id: str) -> RunDetail:
    """A run with its jobs (the timeline's data)."""
    return data.run(run_id)


@router.get("/runs/{run_id}/steps/{job_id}/log", response_model=StepLog, tags=["runs"])
def api_step_log(data: Data, run_id: str, job_id: str) -> StepLog:
    """A step of the run (one attempt of one workflow job) and the tails of its logs: the rule's log
    files, then the engine's (SLURM's) log; at most 16 KiB of each, read locally or from S3."""
    return data.step_log(run_id, job_id)


@router.get("/runs/{run_id}/samples", response_model=list[SampleQC], tags=["runs"])
def api_run_samples(data: Data, run_id: str) -> list[SampleQC]:
    """The run's samples with their QC verdicts, metrics and failed checks."""
    return data.run_qc(run_id)


@router.get("/runs/{run_id}/delivery", response_model=Delivery, tags=["runs"])
def api_run_delivery(data: Data, run_id: str) -> Delivery:
    """What was delivered for the run, with checksums."""
    return data.delivery(run_id)


@router.get("/runs/{run_id}/report", response_model=ReportLink, tags=["runs"])
def api_run_report(data: Data, request: Request, run_id: str) -> ReportLink:
    """Where the run's MultiQC report is: a presigned S3 URL, or this server's file route."""
    location = data.report_location(run_id)
    if location.startswith("s3://"):
        link = data.report_link(location)
        return ReportLink(run_id=run_id, url=link.url, expires_at=link.expires_at)
    return ReportLink(run_id=run_id, url=str(request.url_for("run_report_file", run_id=run_id)))


@router.get("/samples/{sample_id}", response_model=SampleDetail, tags=["samples"])
def api_sample(data: Data, sample_id: str) -> SampleDetail:
    """A sample, its runs and its files with checksums."""
    return data.sample(sample_id)


@router.get("/samples/{sample_id}/qc", response_model=list[SampleQC], tags=["samples"])
def api_sample_qc(data: Data, sample_id: str) -> list[SampleQC]:
    """The sample's QC in every run, oldest run first."""
    return data.sample_qc(sample_id)
