"""The dashboard: server-rendered pages and the JSON API behind them, one FastAPI app.

Every page is backed by one API call and every API call by at most one DynamoDB Query (plus a
GetItem by key), so pages stay fast whatever the size of the tables
(benchmarks/dashboard.py measures it). Nothing Scans.
Pages and API share the read model's views (seqpipe.aws.views); /openapi.json documents the API.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from seqpipe.aws.read_model import NotFound, ReadModel
from seqpipe.aws.transitions import JobStatus
from seqpipe.aws.views import Delivery, RunDetail, RunSummary, SampleDetail, SampleQC
from seqpipe.web import plots
from seqpipe.web.auth import (
    ALB_DATA_HEADER,
    COOKIE_NAME,
    AlbVerifier,
    Identity,
    InvalidToken,
    bearer_token,
    verify_token,
)
from seqpipe.web.responses import Problem, ReportLink

HERE = Path(__file__).parent
SECRET_VARIABLE = "SEQPIPE_DASHBOARD_SECRET"
RUN_LIMIT_DEFAULT = 50

# The metrics shown in tables and plotted, with the unit people read them in.
METRICS: tuple[tuple[str, str, str], ...] = (
    ("mean_depth", "Mean depth", "×"),
    ("duplicate_pct", "Duplicates", "%"),
    ("mapped_pct", "Mapped", "%"),
    ("tstv", "Ts/Tv", ""),
)
PLOTTED = ("mean_depth", "duplicate_pct", "tstv")

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "missing, wrong or expired token"},
    404: {"model": Problem, "description": "unknown run or sample"},
    422: {"model": Problem, "description": "a parameter is invalid; the message names it"},
    503: {"model": Problem, "description": "the data plane (DynamoDB, S3) is unreachable or misconfigured"},
}


class Unauthorized(Exception):
    pass


def identity(request: Request) -> Identity:
    """The caller, from the bearer token or the login cookie; 401 otherwise."""
    alb: AlbVerifier | None = request.app.state.alb
    try:
        if alb is not None:
            claims = request.headers.get(ALB_DATA_HEADER)
            if not claims:
                raise InvalidToken("no sign-in from the load balancer: open the dashboard through its URL")
            return alb.verify(claims)
        token = bearer_token(request.headers.get("authorization"), request.cookies.get(COOKIE_NAME))
        return verify_token(request.app.state.secret, token)
    except InvalidToken as error:
        raise Unauthorized(str(error)) from error


Auth = Annotated[Identity, Depends(identity)]
StatusFilter = Annotated[JobStatus | None, Query(description="only runs with this status")]
Limit = Annotated[int, Query(ge=1, le=500, description="at most this many runs, newest first")]


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def _number(value: float) -> str:
    return (
        f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}" if value != int(value) else f"{value:.0f}"
    )


def _filesize(size: int | None) -> str:
    if size is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


def _metric_charts(
    chart: Callable[..., Markup], suffix: str, items: list[SampleQC], label_of: Callable[[SampleQC], str]
) -> list[Markup]:
    """One chart per plotted metric, a bar per item (a sample of a run, or a run of a sample)."""
    return [
        chart(
            f"{label} {suffix}",
            [plots.Bar(label_of(i), i.metrics.get(name), _metric_verdict(i, name)) for i in items],
            unit=unit,
            thresholds=_limits(items, name),
        )
        for name, label, unit in METRICS
        if name in PLOTTED
    ]


def _limits(qc: list[SampleQC], metric: str) -> list[float]:
    """The numeric limits of a metric's check ('>= 1.7 and <= 2.4' → [1.7, 2.4]), drawn on plots."""
    for entry in qc:
        for check in entry.checks:
            if check.metric == metric and check.threshold:
                return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", check.threshold)]
    return []


def _metric_verdict(entry: SampleQC, metric: str) -> str:
    """A bar's colour: that metric's own check (a sample failing on duplicates has a fine Ts/Tv)."""
    return next((c.verdict for c in entry.checks if c.metric == metric), "")


def _metric_columns() -> list[dict[str, str]]:
    return [{"name": n, "label": label, "unit": unit} for n, label, unit in METRICS]


def alb_verifier_from_env() -> AlbVerifier | None:
    """SEQPIPE_DASHBOARD_AUTH=alb: users come through a load balancer signing them in with Cognito."""
    if os.environ.get("SEQPIPE_DASHBOARD_AUTH", "token") != "alb":
        return None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    alb_arn = os.environ.get("SEQPIPE_ALB_ARN")
    if not region or not alb_arn:
        raise RuntimeError("SEQPIPE_DASHBOARD_AUTH=alb needs SEQPIPE_ALB_ARN and AWS_REGION")
    return AlbVerifier(region, alb_arn)


def create_app(
    data: ReadModel | None = None, secret: str | None = None, alb: AlbVerifier | None = None
) -> FastAPI:
    """The app. Users are checked by `alb` (default: from the environment, see alb_verifier_from_env)
    or else by bearer tokens signed with `secret` (default: $SEQPIPE_DASHBOARD_SECRET)."""
    alb = alb or alb_verifier_from_env()
    secret = secret or os.environ.get(SECRET_VARIABLE, "")
    if alb is None and not secret:
        raise RuntimeError(f"{SECRET_VARIABLE} is not set; `seqpipe dashboard serve` creates one for you")
    sources: list[ReadModel] = [data] if data else []

    def source() -> ReadModel:
        """The data plane, connected on first use: building the app (e.g. for its spec) needs no AWS."""
        if not sources:
            sources.append(ReadModel.from_env())
        return sources[0]

    app = FastAPI(
        title="seqpipe dashboard API",
        version="1",
        description="Runs, jobs, samples, QC and delivery from the seqpipe data plane. "
        "Authenticate with `Authorization: Bearer <token>`.",
        docs_url=None,
        redoc_url=None,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters.update(duration=_duration, number=_number, filesize=_filesize)

    def wants_html(request: Request) -> bool:
        return not request.url.path.startswith("/api/") and request.url.path != "/openapi.json"

    def error_page(request: Request, status: int, heading: str, message: str) -> Response:
        if wants_html(request):
            response = templates.TemplateResponse(
                request,
                "error.html.j2",
                {
                    "status_code": status,
                    "heading": heading,
                    "message": message,
                    "identity": None,
                    "token_login": alb is None,  # behind the load balancer, Cognito signs users in
                },
                status_code=status,
            )
        else:
            response = JSONResponse({"detail": message}, status_code=status)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, error: Unauthorized) -> Response:
        return error_page(request, 401, "Sign in", str(error))

    @app.exception_handler(NotFound)
    async def not_found(request: Request, error: NotFound) -> Response:
        return error_page(request, 404, "Not found", str(error))

    @app.exception_handler(BotoCoreError)
    @app.exception_handler(ClientError)
    async def data_plane_down(request: Request, error: Exception) -> Response:
        return error_page(request, 503, "Data unavailable", f"the data plane did not answer: {error}")

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, error: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in error.errors()
        )
        return error_page(request, 422, "Bad request", problems or "invalid request")

    def page(request: Request, template: str, who: Identity, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, template, {"identity": who, **context})

    # ---- JSON API -------------------------------------------------------------------------
    @app.get("/api/runs", response_model=list[RunSummary], responses=ERRORS, tags=["runs"])
    def api_runs(
        who: Auth, status: StatusFilter = None, limit: Limit = RUN_LIMIT_DEFAULT
    ) -> list[RunSummary]:
        """Runs, newest first, optionally with one status."""
        return source().runs(status=status.value if status else None, limit=limit)

    @app.get("/api/runs/{run_id}", response_model=RunDetail, responses=ERRORS, tags=["runs"])
    def api_run(who: Auth, run_id: str) -> RunDetail:
        """A run with its jobs (the timeline's data)."""
        return source().run(run_id)

    @app.get("/api/runs/{run_id}/samples", response_model=list[SampleQC], responses=ERRORS, tags=["runs"])
    def api_run_samples(who: Auth, run_id: str) -> list[SampleQC]:
        """The run's samples with their QC verdicts, metrics and failed checks."""
        return source().run_qc(run_id)

    @app.get("/api/runs/{run_id}/delivery", response_model=Delivery, responses=ERRORS, tags=["runs"])
    def api_run_delivery(who: Auth, run_id: str) -> Delivery:
        """What was delivered for the run, with checksums."""
        return source().delivery(run_id)

    @app.get("/api/runs/{run_id}/report", response_model=ReportLink, responses=ERRORS, tags=["runs"])
    def api_run_report(who: Auth, request: Request, run_id: str) -> ReportLink:
        """Where the run's MultiQC report is: a presigned S3 URL, or this server's file route."""
        location = source().report_location(run_id)
        if location.startswith("s3://"):
            link = source().report_link(location)
            return ReportLink(run_id=run_id, url=link.url, expires_at=link.expires_at)
        return ReportLink(run_id=run_id, url=str(request.url_for("run_report_file", run_id=run_id)))

    @app.get("/api/samples/{sample_id}", response_model=SampleDetail, responses=ERRORS, tags=["samples"])
    def api_sample(who: Auth, sample_id: str) -> SampleDetail:
        """A sample, its runs and its files with checksums."""
        return source().sample(sample_id)

    @app.get("/api/samples/{sample_id}/qc", response_model=list[SampleQC], responses=ERRORS, tags=["samples"])
    def api_sample_qc(who: Auth, sample_id: str) -> list[SampleQC]:
        """The sample's QC in every run, oldest run first."""
        return source().sample_qc(sample_id)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # ---- pages ----------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def runs_page(request: Request, who: Auth, status: StatusFilter = None, limit: Limit = RUN_LIMIT_DEFAULT):
        runs = api_runs(who, status, limit)
        return page(
            request,
            "runs.html.j2",
            who,
            runs=runs,
            status=status.value if status else None,
            statuses=[s.value for s in JobStatus],
            limit=limit,
        )

    @app.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    def run_page(request: Request, who: Auth, run_id: str):
        detail = api_run(who, run_id)
        now = datetime.now(UTC)
        spans = [
            plots.Span(
                label=f"{job.sample} {job.kind}" if job.sample else job.kind,
                start=job.started_at or job.created_at,
                end=job.finished_at or (None if job.status in {"RUNNING", "SUBMITTED"} else job.created_at),
                status=job.status,
            )
            for job in detail.jobs
        ]
        timeline = plots.timeline(f"Jobs of run {run_id}", spans, now)
        return page(request, "run.html.j2", who, detail=detail, timeline=timeline)

    @app.get("/runs/{run_id}/qc", response_class=HTMLResponse, include_in_schema=False)
    def run_qc_page(request: Request, who: Auth, run_id: str):
        samples = api_run_samples(who, run_id)
        charts = _metric_charts(plots.bar_chart, "per sample", samples, lambda s: s.sample)
        passed = sum(1 for s in samples if s.verdict == "PASS")
        return page(
            request,
            "run_qc.html.j2",
            who,
            run_id=run_id,
            samples=samples,
            metrics=_metric_columns(),
            charts=charts,
            passed=passed,
        )

    @app.get("/runs/{run_id}/delivery", response_class=HTMLResponse, include_in_schema=False)
    def run_delivery_page(request: Request, who: Auth, run_id: str):
        return page(request, "run_delivery.html.j2", who, delivery=api_run_delivery(who, run_id))

    @app.get("/runs/{run_id}/report", include_in_schema=False)
    def run_report(request: Request, who: Auth, run_id: str):
        """The MultiQC report: a redirect to a short-lived presigned URL, or the local file."""
        return RedirectResponse(api_run_report(who, request, run_id).url, status_code=307)

    @app.get("/runs/{run_id}/report/file", include_in_schema=False)
    def run_report_file(who: Auth, run_id: str):
        location = source().report_location(run_id)
        path = Path(location.removeprefix("file://"))
        if location.startswith("s3://") or not path.is_file():
            raise NotFound(f"run {run_id} has no local MultiQC report (expected {path})")
        return FileResponse(path, media_type="text/html")

    @app.get("/samples/{sample_id}", response_class=HTMLResponse, include_in_schema=False)
    def sample_page(request: Request, who: Auth, sample_id: str):
        return page(request, "sample.html.j2", who, detail=api_sample(who, sample_id))

    @app.get("/samples/{sample_id}/qc", response_class=HTMLResponse, include_in_schema=False)
    def sample_qc_page(request: Request, who: Auth, sample_id: str):
        qc = api_sample_qc(who, sample_id)
        charts = _metric_charts(plots.series_chart, "across runs", qc, lambda q: q.run_id)
        return page(
            request,
            "sample_qc.html.j2",
            who,
            sample_id=sample_id,
            qc=qc,
            metrics=_metric_columns(),
            charts=charts,
        )

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request):
        return error_page(request, 401, "Sign in", "Paste your access token to open the dashboard.")

    @app.post("/login", include_in_schema=False)
    async def login(request: Request):
        # A urlencoded form parsed by hand: one field does not justify a multipart parser dependency.
        form = parse_qs((await request.body()).decode(errors="replace"))
        token = (form.get("token") or [""])[0].strip()
        try:
            who = verify_token(secret, token)
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

    @app.get("/api", include_in_schema=False, name="api_docs")
    def api_docs() -> RedirectResponse:
        return RedirectResponse("/openapi.json")

    app.state.secret = secret
    app.state.alb = alb
    return app
