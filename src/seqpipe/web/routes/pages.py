"""The pages: each is rendered from one API call (routes.api) by a template; plus sign-in and the
unauthenticated probes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from seqpipe.aws.items import STEP_KIND
from seqpipe.aws.read_model import NotFound
from seqpipe.aws.transitions import JobStatus, StepStatus
from seqpipe.web import plots
from seqpipe.web.auth import COOKIE_NAME, InvalidToken, verify_token
from seqpipe.web.dependencies import RUN_LIMIT_DEFAULT, Auth, Data, Limit, StatusFilter
from seqpipe.web.qc_charts import metric_charts, metric_columns
from seqpipe.web.rendering import error_page, page
from seqpipe.web.routes import api

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/", response_class=HTMLResponse)
def runs_page(
    request: Request, who: Auth, data: Data, status: StatusFilter = None, limit: Limit = RUN_LIMIT_DEFAULT
):
    runs = api.api_runs(data, status, limit)
    return page(
        request,
        "runs.html.j2",
        who,
        runs=runs,
        status=status.value if status else None,
        statuses=[s.value for s in JobStatus],
        limit=limit,
    )


# The run page shows the log tails of this many failed steps (each one or two bounded reads).
FAILED_STEPS_SHOWN = 10
OPEN = {JobStatus.SUBMITTED, JobStatus.RUNNING, StepStatus.QUEUED}


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, who: Auth, data: Data, run_id: str):
    detail = api.api_run(data, run_id)
    now = datetime.now(UTC)
    spans = [
        plots.Span(
            label=job.label,
            start=job.started_at or job.created_at,
            end=job.finished_at or (None if job.status in OPEN else job.created_at),
            status=job.status,
        )
        for job in detail.jobs
    ]
    timeline = plots.timeline(f"Jobs of run {run_id}", spans, now)
    failed = [job for job in detail.jobs if job.kind == STEP_KIND and job.status == StepStatus.FAILED]
    failed_logs = [data.logs_of(job) for job in failed[:FAILED_STEPS_SHOWN]]
    return page(
        request, "run.html.j2", who, detail=detail, timeline=timeline, failed=failed, failed_logs=failed_logs
    )


@router.get("/runs/{run_id}/steps/{job_id}", response_class=HTMLResponse)
def step_page(request: Request, who: Auth, data: Data, run_id: str, job_id: str):
    return page(request, "step.html.j2", who, run_id=run_id, log=api.api_step_log(data, run_id, job_id))


@router.get("/runs/{run_id}/qc", response_class=HTMLResponse)
def run_qc_page(request: Request, who: Auth, data: Data, run_id: str):
    samples = api.api_run_samples(data, run_id)
    charts = metric_charts(plots.bar_chart, "per sample", samples, lambda s: s.sample)
    passed = sum(1 for s in samples if s.verdict == "PASS")
    return page(
        request,
        "run_qc.html.j2",
        who,
        run_id=run_id,
        samples=samples,
        metrics=metric_columns(),
        charts=charts,
        passed=passed,
    )


@router.get("/runs/{run_id}/delivery", response_class=HTMLResponse)
def run_delivery_page(request: Request, who: Auth, data: Data, run_id: str):
    return page(request, "run_delivery.html.j2", who, delivery=api.api_run_delivery(data, run_id))


@router.get("/runs/{run_id}/report")
def run_report(request: Request, who: Auth, data: Data, run_id: str):
    """The MultiQC report: a redirect to a short-lived presigned URL, or the local file."""
    return RedirectResponse(api.api_run_report(data, request, run_id).url, status_code=307)


@router.get("/runs/{run_id}/report/file")
def run_report_file(who: Auth, data: Data, run_id: str):
    location = data.report_location(run_id)
    path = Path(location.removeprefix("file://"))
    if location.startswith("s3://") or not path.is_file():
        raise NotFound(f"run {run_id} has no local MultiQC report (expected {path})")
    return FileResponse(path, media_type="text/html")


@router.get("/samples/{sample_id}", response_class=HTMLResponse)
def sample_page(request: Request, who: Auth, data: Data, sample_id: str):
    return page(request, "sample.html.j2", who, detail=api.api_sample(data, sample_id))


@router.get("/samples/{sample_id}/qc", response_class=HTMLResponse)
def sample_qc_page(request: Request, who: Auth, data: Data, sample_id: str):
    qc = api.api_sample_qc(data, sample_id)
    charts = metric_charts(plots.series_chart, "across runs", qc, lambda q: q.run_id)
    return page(
        request,
        "sample_qc.html.j2",
        who,
        sample_id=sample_id,
        qc=qc,
        metrics=metric_columns(),
        charts=charts,
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request):
    return error_page(request, 401, "Sign in", "Paste your access token to open the dashboard.")


@router.post("/login")
async def login(request: Request):
    # A urlencoded form parsed by hand: one field does not justify a multipart parser dependency.
    form = parse_qs((await request.body()).decode(errors="replace"))
    token = (form.get("token") or [""])[0].strip()
    try:
        who = verify_token(request.app.state.secret, token)
    except InvalidToken as error:
        return error_page(request, 401, "Sign in", str(error))
    response = RedirectResponse(str(request.url_for("runs_page")), status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=max(who.expires_at - int(datetime.now(UTC).timestamp()), 0),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/api", name="api_docs")
def api_docs() -> RedirectResponse:
    return RedirectResponse("/openapi.json")
