"""Server-rendered pages through the TestClient: every page renders, sign-in sets a cookie, errors are
pages with a clear message, and runs recorded by the data plane's own code render too."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqpipe.aws import runs
from seqpipe.aws.repositories import Repositories

PAGES = (
    "/",
    "/?status=FAILED",
    "/runs/RUN_0001",
    "/runs/RUN_0001/qc",
    "/runs/RUN_0001/delivery",
    "/runs/RUN_0005",
    "/runs/RUN_0005/qc",
    "/runs/RUN_0005/delivery",
    "/runs/RUN_0004/steps/RUN_0004.0d3e0000.3.1",  # a failed step of the demo's failed run
    "/samples/S00002",
    "/samples/S00002/qc",
)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_html_with_the_stylesheet(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.text[-2000:]
    assert response.headers["content-type"].startswith("text/html")
    assert "/static/style.css" in response.text and "<h1>" in response.text


def test_failed_qc_checks_show_their_reasons(client):
    qc = client.get("/api/runs/RUN_0002/samples").json() + client.get("/api/runs/RUN_0003/samples").json()
    failing = next(q for q in qc if q["verdict"] == "FAIL")
    page = client.get(f"/runs/{failing['run_id']}/qc").text
    reason = next(c["reason"] for c in failing["checks"] if c["verdict"] == "FAIL")
    assert reason in page


def test_signing_in_sets_an_http_only_cookie_that_opens_the_pages(client, token):
    bare = {"Authorization": ""}
    assert client.get("/", headers=bare).status_code == 401
    response = client.post(
        "/login",
        content=f"token={token}",
        headers={**bare, "Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"].endswith("/")
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/", headers=bare).status_code == 200  # the TestClient keeps the cookie


def test_a_wrong_token_at_sign_in_is_refused_with_a_401_page(client):
    response = client.post(
        "/login",
        content="token=nope.nope",
        headers={"Authorization": "", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 401 and "invalid token" in response.text


def test_unknown_pages_are_404_pages_naming_the_run_or_sample(client):
    response = client.get("/runs/NOPE/qc")
    assert response.status_code == 404 and "unknown run" in response.text and "NOPE" in response.text
    response = client.get("/samples/NOPE")
    assert response.status_code == 404 and "unknown sample" in response.text and "NOPE" in response.text


def test_a_local_run_links_its_multiqc_report_through_a_file_route(client, tmp_path: Path):
    """A run recorded by the data plane's own code, whose outputs are on local disk."""
    report = tmp_path / "qc" / "multiqc_report.html"
    report.parent.mkdir(parents=True)
    report.write_text("<html><h1>local MultiQC</h1></html>")
    repos = Repositories.from_env()
    runs.record_run(repos, "LOCAL_1", "P9", ["L1"], output_uri=str(tmp_path))
    runs.transition(repos, "LOCAL_1", "RUNNING")

    link = client.get("/api/runs/LOCAL_1/report").json()
    assert link["url"].endswith("/runs/LOCAL_1/report/file") and link["expires_at"] is None
    response = client.get("/runs/LOCAL_1/report")
    assert response.status_code == 200 and "local MultiQC" in response.text

    page = client.get("/runs/LOCAL_1")
    assert page.status_code == 200 and "RUNNING" in page.text
    samples = client.get("/api/runs/LOCAL_1/samples").json()
    assert [(s["sample"], s["verdict"]) for s in samples] == [("L1", "PENDING")]


def test_a_run_without_a_local_report_file_is_a_404(client, tmp_path: Path):
    repos = Repositories.from_env()
    runs.record_run(repos, "LOCAL_2", "P9", ["L2"], output_uri=str(tmp_path / "missing"))
    response = client.get("/runs/LOCAL_2/report")
    assert response.status_code == 404 and "no local MultiQC report" in response.text


def test_a_data_plane_without_its_tables_is_a_503_not_a_crash(client, monkeypatch, secret, token):
    from fastapi.testclient import TestClient

    from seqpipe.web.app import create_app

    monkeypatch.setenv("JOBS_TABLE", "no-such-table")
    with TestClient(create_app(secret=secret), headers={"Authorization": f"Bearer {token}"}) as broken:
        response = broken.get("/api/runs")
        assert response.status_code == 503 and "ResourceNotFoundException" in response.json()["detail"]
        assert broken.get("/").status_code == 503
