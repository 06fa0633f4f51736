"""The pages in headless Chromium (Debian's package, driven by Playwright): sign in, follow a run to its
QC, a sample and the MultiQC report; follow a run recorded by `seqpipe run --record` to its timeline
and a failed step's log; screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from workflow_dir import record_argv, workflow_dir

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPORT_HTML = b"<!doctype html><title>MultiQC report</title><h1>MultiQC report of RUN_0001</h1>"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _dashboard(secret: str) -> Iterator[str]:
    """The dashboard on a loopback port (uvicorn in a thread)."""
    import uvicorn

    from seqpipe.web.app import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(secret=secret), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "dashboard did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def live_server(demo, settings, secret, aws) -> Iterator[str]:
    """The dashboard over the demo content."""
    s3 = aws("s3")
    s3.create_bucket(Bucket=settings.processed_bucket)
    s3.put_object(
        Bucket=settings.processed_bucket,
        Key="runs/RUN_0001/results/qc/multiqc_report.html",  # seqpipe.aws.layout
        Body=REPORT_HTML,
        ContentType="text/html",
    )
    with _dashboard(secret) as url:
        yield url


# sample B's alignment fails on both attempts (profiles/local retries once) and says why in its log
FAILING_ALIGNMENT = """
rule all:
    input: "out/A.bam", "out/B.bam"

rule align_reads:
    output: "out/{sample}.bam"
    log: "logs/align_reads/{sample}.log"
    shell:
        "echo 'aligning {wildcards.sample}' > {log}; "
        "if [ {wildcards.sample} = B ]; then "
        "echo 'bwa: fail to locate the index files' >> {log}; exit 2; fi; "
        "echo bam > {output}"
"""


@pytest.fixture
def recorded_server(settings, secret, tmp_path: Path) -> Iterator[str]:
    """The dashboard over nothing but one run of a real workflow recorded by `seqpipe run --record`."""
    workdir = workflow_dir(tmp_path / "wf", FAILING_ALIGNMENT)
    seqpipe = Path(sys.executable).parent / "seqpipe"
    run = subprocess.run(record_argv(seqpipe, workdir, "REC_1"), capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "recorded run REC_1: FAILED" in run.stderr, run.stderr[-3000:]
    with _dashboard(secret) as url:
        yield url


@pytest.fixture
def browser_page(tmp_path: Path):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), (
        "Debian's chromium is missing: scripts/apt-packages.txt lists it (bash scripts/setup.sh)"
    )
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1200, "height": 900},
        )
        try:
            yield context.new_page()
        finally:
            context.close()


@pytest.fixture
def screenshots(repo: Path) -> Path:
    folder = repo / "test-artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_user_signs_in_and_follows_a_run_to_its_qc_samples_and_report(
    live_server, browser_page, screenshots, token
):
    page = browser_page
    page.goto(live_server + "/")
    assert "Sign in" in page.inner_text("h1")
    assert "missing token" in page.inner_text("[role=alert]")
    page.screenshot(path=str(screenshots / "01-sign-in.png"), full_page=True)

    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("table#runs")
    assert page.inner_text("h1") == "Runs"
    rows = page.locator("table#runs tbody tr")
    assert rows.count() == 5
    assert "RUNNING" in rows.nth(0).inner_text() and "FAILED" in rows.nth(1).inner_text()
    page.screenshot(path=str(screenshots / "02-runs.png"), full_page=True)

    page.click("text=RUN_0001")
    page.wait_for_selector("table#jobs")
    assert "Run RUN_0001" in page.inner_text("h1") and "SUCCEEDED" in page.inner_text("h1")
    assert page.locator("svg.chart rect").count() == 1 + 4 * 4  # one bar per job on the timeline
    page.screenshot(path=str(screenshots / "03-run-jobs-timeline.png"), full_page=True)

    page.click("nav.tabs >> text=Samples & QC")
    page.wait_for_selector("table#samples")
    verdicts = page.locator("table#samples tbody tr .badge").all_inner_texts()
    assert len(verdicts) == 4 and set(verdicts) <= {"PASS", "FAIL"}
    assert page.locator("svg.chart").count() == 3  # depth, duplicates, Ts/Tv per sample
    page.screenshot(path=str(screenshots / "04-run-qc.png"), full_page=True)

    page.goto(live_server + "/runs/RUN_0002/qc")  # a run with failing samples
    assert "FAIL" in page.locator("table#samples").inner_text()
    assert page.locator("table#samples .reason").count() >= 1
    page.screenshot(path=str(screenshots / "04b-run-qc-with-failures.png"), full_page=True)
    page.goto(live_server + "/runs/RUN_0001/qc")

    page.click("nav.tabs >> text=Delivery")
    page.wait_for_selector("table#delivered")
    assert "DELIVERED" in page.inner_text("h1")
    page.screenshot(path=str(screenshots / "05-run-delivery.png"), full_page=True)

    with page.context.expect_page() as report_tab:
        page.click("nav.tabs >> text=MultiQC report")
    report = report_tab.value
    report.wait_for_load_state()
    assert report.inner_text("h1") == "MultiQC report of RUN_0001"
    assert "X-Amz-" in report.url  # a presigned S3 URL, not a proxied copy
    report.screenshot(path=str(screenshots / "06-multiqc-report.png"))
    report.close()

    page.click("nav.tabs >> text=Samples & QC")
    page.click("table#samples >> text=S00002")
    page.wait_for_selector("table#files")
    assert page.locator("table#files tbody tr").count() == 6
    page.screenshot(path=str(screenshots / "07-sample-files.png"), full_page=True)

    page.click("nav.tabs >> text=QC across runs")
    page.wait_for_selector("table#qc")
    assert page.locator("table#qc tbody tr").count() == 2
    assert page.locator("svg.chart circle").count() == 3 * 2  # three metrics, two runs
    page.screenshot(path=str(screenshots / "08-sample-qc-across-runs.png"), full_page=True)


def test_a_user_follows_a_recorded_run_to_its_timeline_and_a_failed_steps_log(
    recorded_server, browser_page, screenshots, token
):
    page = browser_page
    page.context.set_extra_http_headers({"Authorization": f"Bearer {token}"})
    page.goto(recorded_server + "/")
    rows = page.locator("table#runs tbody tr")
    assert rows.count() == 1 and "FAILED" in rows.nth(0).inner_text()

    page.click("text=REC_1")
    page.wait_for_selector("table#jobs")
    assert "Run REC_1" in page.inner_text("h1") and "FAILED" in page.inner_text("h1")
    # the run's own job and three steps: align_reads of A, and of B twice (its retry)
    assert page.locator("svg.chart rect").count() == 1 + 3
    jobs = page.locator("table#jobs").inner_text()
    assert "align_reads sample=A" in jobs and "align_reads sample=B #2" in jobs
    failed = page.locator("section.failed-step")
    assert failed.count() == 2
    assert "bwa: fail to locate the index files" in failed.nth(0).locator("pre.log-tail").inner_text()
    page.screenshot(path=str(screenshots / "09-recorded-run-timeline.png"), full_page=True)

    page.click("table#jobs >> text=align_reads sample=B #2")
    page.wait_for_selector("table#history")
    assert "Step align_reads sample=B #2" in page.inner_text("h1") and "FAILED" in page.inner_text("h1")
    history = page.locator("table#history tbody tr .badge").all_inner_texts()
    assert history == ["QUEUED", "RUNNING", "FAILED"]
    assert "exit status" in page.inner_text("dl.facts").lower()
    tail = page.locator("pre.log-tail").inner_text()
    assert tail.splitlines() == ["aligning B", "bwa: fail to locate the index files"]
    page.screenshot(path=str(screenshots / "10-failed-step-log.png"), full_page=True)


def test_an_unknown_run_shows_a_404_page(live_server, browser_page, token):
    page = browser_page
    page.context.set_extra_http_headers({"Authorization": f"Bearer {token}"})
    response = page.goto(live_server + "/runs/NO_SUCH_RUN")
    assert response.status == 404
    assert "unknown run 'NO_SUCH_RUN'" in page.inner_text("[role=alert]")


def test_chromium_is_the_debian_package_not_a_download():
    assert shutil.which("chromium") == str(CHROMIUM)
