"""Dashboard page render times over a full local data plane, and the DynamoDB calls behind each page.

Fills the local AWS endpoint (moto server, started here unless AWS_ENDPOINT_URL is set) with 10,000+
jobs and 1,000 samples by batch writes, then renders every page kind N times in-process (TestClient:
routing, auth, DynamoDB over HTTP, templates, SVG) and counts the AWS calls per page with botocore
event hooks. Fails (exit 1) if a page's median is ≥ 200 ms, a page makes more than one Query, or
anything Scans.

    .venv/bin/python benchmarks/dashboard.py [--repeat 20] [--json benchmarks-out/dashboard.json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 200.0
SIZE = {"runs": 200, "samples_per_run": 10, "tasks_per_sample": 5, "distinct_samples": 1000}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def local_endpoint():
    """AWS_ENDPOINT_URL if set, else a moto server of our own (the tests' launcher) for the duration."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        yield os.environ["AWS_ENDPOINT_URL"]
        return
    import requests

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "support" / "moto_launch.py"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                requests.get(url + "/moto-api/", timeout=0.5)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        os.environ.update(
            AWS_ENDPOINT_URL=url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
        )
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="renders per page (default 20)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    with local_endpoint() as endpoint:
        import boto3
        from fastapi.testclient import TestClient

        from seqpipe.aws.demo import DemoSize, run_id, sample_id, write_demo
        from seqpipe.aws.settings import Settings
        from seqpipe.aws.tables import create_tables
        from seqpipe.web.app import create_app
        from seqpipe.web.auth import issue_token

        settings = Settings.from_env()
        boto3.setup_default_session()
        # Counted from the start: a client only gets the hooks registered before it is made, and the
        # fill already makes the cached S3 client (seqpipe.storage.s3.client) the pages use.
        calls: Counter[str] = Counter()
        aws_seconds = [0.0]
        call_started: list[float] = []

        def count(event_name: str, **_: object) -> None:
            # event_name: before-call.<service>.<Operation>
            _, service, operation = event_name.split(".", 2)
            calls[f"{service}.{operation}"] += 1
            call_started.append(time.perf_counter())

        def finished(**_: object) -> None:
            aws_seconds[0] += time.perf_counter() - call_started.pop()

        boto3.DEFAULT_SESSION.events.register("before-call", count)
        boto3.DEFAULT_SESSION.events.register("after-call", finished)

        create_tables(boto3.client("dynamodb"), settings.table_names())
        size = DemoSize(**SIZE)
        started = time.monotonic()
        counts = write_demo(size, settings)
        fill_seconds = time.monotonic() - started
        print(
            f"filled {endpoint}: {counts['jobs']:,} jobs, {size.samples:,} samples "
            f"({counts['metadata']:,} metadata items, {counts['quality']:,} QC items, "
            f"{counts['manifest']} manifests) in {fill_seconds:.1f} s"
        )

        middle_run = run_id(size.runs // 2 - 1)
        sample = sample_id(size.runs // 2 - 1, 3, size)
        pages = [
            "/",
            "/?status=FAILED",
            f"/runs/{middle_run}",
            f"/runs/{middle_run}/qc",
            f"/runs/{middle_run}/delivery",
            f"/samples/{sample}",
            f"/samples/{sample}/qc",
        ]
        secret = "benchmark"
        token = issue_token(secret, "benchmark", 3600)
        results = []
        failures = []
        with TestClient(create_app(secret=secret), headers={"Authorization": f"Bearer {token}"}) as client:
            for page in pages:
                assert client.get(page).status_code == 200, page  # warm-up: connections, templates
                times = []
                calls.clear()
                aws_seconds[0] = 0.0
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    response = client.get(page)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200, (page, response.status_code)
                per_page = {op: n / args.repeat for op, n in sorted(calls.items())}
                median = statistics.median(times)
                p95 = sorted(times)[max(int(0.95 * len(times)) - 1, 0)]
                queries = per_page.get("dynamodb.Query", 0)
                scans = per_page.get("dynamodb.Scan", 0)
                aws_ms = aws_seconds[0] * 1000 / args.repeat
                results.append(
                    {
                        "page": page,
                        "median_ms": round(median, 1),
                        "p95_ms": round(p95, 1),
                        "mean_aws_ms": round(aws_ms, 1),
                        "mean_app_ms": round(statistics.mean(times) - aws_ms, 1),
                        "calls": per_page,
                        "bytes": len(response.content),
                    }
                )
                if median >= TARGET_MS:
                    failures.append(f"{page}: median {median:.1f} ms ≥ {TARGET_MS} ms")
                if queries > 1:
                    failures.append(f"{page}: {queries:g} Queries per render (max 1)")
                if scans:
                    failures.append(f"{page}: Scan used")

    print(f"\n{'page':<28} {'median ms':>9} {'p95 ms':>8} {'AWS ms':>7} {'app ms':>7}  AWS calls per render")
    for r in results:
        described = ", ".join(f"{op.split('.', 1)[1]} {n:g}" for op, n in r["calls"].items())
        print(
            f"{r['page']:<28} {r['median_ms']:>9.1f} {r['p95_ms']:>8.1f} {r['mean_aws_ms']:>7.1f} "
            f"{r['mean_app_ms']:>7.1f}  {described}"
        )
    summary = {
        "jobs": counts["jobs"],
        "samples": size.samples,
        "fill_seconds": round(fill_seconds, 1),
        "repeat": args.repeat,
        "target_ms": TARGET_MS,
        "pages": results,
        "failures": failures,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2))
    for failure in failures:
        print(f"FAIL {failure}")
    print("\nall pages under target, at most one Query each, no Scan" if not failures else "")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
