"""A counting, fault-injecting HTTP proxy on loopback in front of the local AWS endpoint.

Clients (boto3, Snakemake's S3 plugin, htslib, the CLI) are pointed at the proxy instead of moto
through ``AWS_ENDPOINT_URL``; the proxy forwards every request unchanged and records one line per
request: service (from the SigV4 credential scope), operation, method, path, status, the bytes
in each direction, and who asked: the access key the request is signed with and the User-Agent (the
SDK's app id, ``AWS_SDK_UA_APP_ID``, appears there as ``app/<id>``; htslib signs with the same keys
but sends its own agent). That log is how benchmarks count what a run moved, and how tests assert
that a key was never written.

The proxy counts what it hands to the client. htslib reads a region with an open-ended ranged GET and
closes the connection when it has read enough; the bytes sent until then are counted (an aborted
response still counts), and the proxy keeps its own send buffer small so that what it has sent but
the client never read stays within the client's receive buffer.

Faults are injected here, on the wire, never by patching our own code: a rule answers a share of
matching requests with a throttling, server, access-denied or not-found error, or drops the
connection (an endpoint that is unreachable).

Run it as a process (``python aws_proxy.py --upstream URL --port N``) and drive it over HTTP:
``GET /__proxy__/log``, ``POST /__proxy__/reset``, ``PUT /__proxy__/faults`` (a JSON list of
rules). ``running_proxy`` does that for tests and benchmarks. ``__proxy__`` is not a legal bucket
name, so the control paths cannot shadow an S3 request.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

CONTROL = "/__proxy__/"
CHUNK = 1 << 20
SEND_BUFFER = 64 * 1024
_SCOPE = re.compile(r"Credential=([^/,]+)/\d{8}/[^/]+/([^/]+)/aws4_request")
# What each service answers when it throttles, and its server errors (codes botocore retries, and
# Step Functions names its errors after: Lambda.TooManyRequestsException, DynamoDB.<code>, …); for S3
# also a denied read (403) and a missing object (404)
THROTTLING = {
    "s3": (503, "SlowDown"),
    "dynamodb": (400, "ProvisionedThroughputExceededException"),
    "lambda": (429, "TooManyRequestsException"),
    "batch": (429, "TooManyRequestsException"),
}
DEFAULT_THROTTLING = (400, "ThrottlingException")
SERVER_ERRORS = {
    "s3": {503: "SlowDown", 500: "InternalError", 403: "AccessDenied", 404: "NoSuchKey"},
    "dynamodb": {500: "InternalServerError", 503: "ServiceUnavailable"},
    "lambda": {500: "ServiceException", 503: "ServiceException"},
    "batch": {500: "ServerException", 503: "ServerException"},
}
DEFAULT_SERVER_ERRORS = {500: "InternalFailure", 503: "ServiceUnavailable"}


@dataclass
class FaultRule:
    """Answer a share (``rate``) of the matching requests with ``status``, or with the service's own
    throttling error (``throttle``), or close the connection without an answer (``drop``), or hold the
    request unanswered for ``hold`` seconds and then drop it (logged as "hold" when the hold starts, so
    a test can act on the client meanwhile, e.g. kill it). A faulted request never reaches the
    endpoint. ``service``, ``operation``, ``path`` and ``access_key`` (who signed the request: a Batch
    job, say) are regular expressions; ``after`` skips that many matching requests first; ``limit``
    caps how many faults the rule injects."""

    service: str = ".*"
    operation: str = ".*"
    path: str = ".*"
    access_key: str = ".*"
    rate: float = 1.0
    status: int = 503
    throttle: bool = False
    drop: bool = False
    hold: float = 0.0
    after: int = 0
    limit: int | None = None
    seen: int = field(default=0, repr=False)
    injected: int = field(default=0, repr=False)

    def matches(self, service: str, operation: str, path: str, access_key: str) -> bool:
        wanted = ((self.service, service), (self.operation, operation), (self.path, path))
        return all(re.fullmatch(p, v) for p, v in (*wanted, (self.access_key, access_key)))


@dataclass(frozen=True)
class Request:
    service: str
    operation: str
    method: str
    path: str
    status: int
    bytes_in: int  # request body, client → endpoint
    bytes_out: int  # response body, endpoint → client (as far as sent when the client hung up)
    fault: str | None
    started: float
    seconds: float
    access_key: str
    user_agent: str
    range: str  # the Range header of a ranged GET, else ""


def signature_of(headers: dict[str, str], query: dict[str, list[str]]) -> tuple[str, str]:
    """(access key, service) of a signed request, from its header or presigned query.

    SigV4 names the service in its scope; SigV2 (``AWS key:signature``, or ``AWSAccessKeyId`` in a
    URL boto3 presigns for S3) is only S3's."""
    authorization = headers.get("authorization", "")
    credential = authorization or "Credential=" + query.get("X-Amz-Credential", [""])[0]
    match = _SCOPE.search(credential)
    if match:
        return match.group(1), match.group(2)
    if authorization.startswith("AWS "):
        return authorization[4:].split(":", 1)[0], "s3"
    if "AWSAccessKeyId" in query:
        return query["AWSAccessKeyId"][0], "s3"
    return "", "unknown"


def s3_operation(method: str, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> str:
    """The S3 API operation of a path-style request (enough for counting; not every subresource)."""
    parts = path.lstrip("/").split("/", 1)
    has_key = len(parts) == 2 and parts[1] != ""
    for sub, names in {
        "tagging": ("GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging"),
        "uploads": ("ListMultipartUploads", "CreateMultipartUpload", "CreateMultipartUpload"),
        "delete": ("", "DeleteObjects", ""),
    }.items():
        if sub in query:
            return {"GET": names[0], "PUT": names[1], "POST": names[1], "DELETE": names[2]}[method]
    if "uploadId" in query:
        return {"PUT": "UploadPart", "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload"}.get(
            method, "ListParts"
        )
    if not has_key:
        return {
            "GET": "ListObjects",
            "HEAD": "HeadBucket",
            "PUT": "CreateBucket",
            "DELETE": "DeleteBucket",
        }.get(method, method)
    if method == "PUT" and "x-amz-copy-source" in headers:
        return "CopyObject"
    return {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(
        method, method
    )


def operation_of(
    service: str, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str]
) -> str:
    target = headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    if service == "s3":
        return s3_operation(method, path, query, headers)
    # REST-JSON services (Batch, Lambda): the last path segment names the action well enough
    return f"{method} {path.rstrip('/').rsplit('/', 1)[-1]}"


def error_body(service: str, rule: FaultRule) -> tuple[int, bytes, str]:
    """The status, body and content type of the error a rule answers a request of `service` with."""
    if rule.throttle or rule.status == 400:  # a 400 worth retrying is a throttling error
        status, code = THROTTLING.get(service, DEFAULT_THROTTLING)
    else:
        status = rule.status
        code = SERVER_ERRORS.get(service, DEFAULT_SERVER_ERRORS).get(status, "InternalFailure")
    if service == "s3":
        body = f"<Error><Code>{code}</Code><Message>injected by aws_proxy</Message></Error>"
        return status, body.encode(), "application/xml"
    return (
        status,
        json.dumps({"__type": code, "message": "injected by aws_proxy"}).encode(),
        "application/x-amz-json-1.0",
    )


def error_rate(rate: float, service: str = ".*", operation: str = ".*") -> list[FaultRule]:
    """Rules that fault `rate` of the matching requests: half of the faults throttling, a quarter
    500s, a quarter 503s (each rule draws only for the requests the ones before it let through)."""
    shares = (("throttle", rate / 2), (500, rate / 4), (503, rate / 4))
    rules, passed = [], 1.0
    for kind, share in shares:
        throttle = kind == "throttle"
        status = 503 if throttle else int(kind)
        rules.append(FaultRule(service, operation, rate=share / passed, status=status, throttle=throttle))
        passed -= share
    return rules


class _State:
    def __init__(self, seed: int) -> None:
        self.lock = threading.Lock()
        self.log: list[Request] = []
        self.rules: list[FaultRule] = []
        self.random = random.Random(seed)

    def fault_for(self, service: str, operation: str, path: str, access_key: str) -> FaultRule | None:
        with self.lock:
            for rule in self.rules:
                if not rule.matches(service, operation, path, access_key):
                    continue
                rule.seen += 1
                if rule.seen <= rule.after or (rule.limit is not None and rule.injected >= rule.limit):
                    continue
                if self.random.random() < rule.rate:
                    rule.injected += 1
                    return rule
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, format: str, *args: object) -> None:  # the request log replaces it
        pass

    def setup(self) -> None:
        # what the proxy has sent is then what the client read, give or take its receive buffer
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        super().setup()

    def _control(self) -> None:
        state = self.server.state
        action = self.path[len(CONTROL) :].split("?", 1)[0]
        length = int(self.headers.get("content-length") or 0)
        payload = self.rfile.read(length) if length else b""
        if action == "log" and self.command == "GET":
            with state.lock:
                body = json.dumps([asdict(r) for r in state.log]).encode()
        elif action == "reset" and self.command == "POST":
            with state.lock:
                state.log.clear()
                state.rules.clear()
            body = b"{}"
        elif action == "faults" and self.command == "PUT":
            rules = [FaultRule(**rule) for rule in json.loads(payload or b"[]")]
            seed = parse_qs(urlsplit(self.path).query).get("seed")
            with state.lock:
                state.rules = rules
                if seed:
                    state.random.seed(int(seed[0]))
            body = b"{}"
        elif action == "faults" and self.command == "GET":
            with state.lock:
                body = json.dumps([asdict(r) for r in state.rules]).encode()
        else:
            self.send_error(404, f"unknown control action {action!r}")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body_chunks(self) -> Iterator[bytes]:
        """The request body as it arrives: by Content-Length or HTTP/1.1 chunks (re-framed upstream)."""
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                data = self.rfile.read(size)
                self.rfile.readline()
                yield data
            return
        remaining = int(self.headers.get("content-length") or 0)
        while remaining > 0:
            data = self.rfile.read(min(CHUNK, remaining))
            if not data:
                return
            remaining -= len(data)
            yield data

    def _forward(self) -> None:
        started = time.time()
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        access_key, service = signature_of(headers, query)
        caller = (access_key, headers.get("user-agent", ""), headers.get("range", ""))
        operation = operation_of(service, self.command, split.path, query, headers)
        rule = self.server.state.fault_for(service, operation, split.path, access_key)
        bytes_in = 0
        if rule is not None:
            for data in self._body_chunks():
                bytes_in += len(data)
            if rule.hold:
                self._record(service, operation, split.path, 0, bytes_in, 0, "hold", started, caller)
                time.sleep(rule.hold)
            if rule.drop or rule.hold:
                if not rule.hold:
                    self._record(service, operation, split.path, 0, bytes_in, 0, "drop", started, caller)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            status, body, content_type = error_body(service, rule)
            self.send_response(status)
            # every AWS answer names its request, errors too (clients such as Step Functions read it)
            self.send_header("x-amz-request-id" if service == "s3" else "x-amzn-RequestId", str(uuid.uuid4()))
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            fault = f"status {status}"
            self._record(service, operation, split.path, status, bytes_in, 0, fault, started, caller)
            return
        upstream = http.client.HTTPConnection(
            self.server.upstream_host, self.server.upstream_port, timeout=600
        )
        chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() not in ("connection", "keep-alive", "proxy-connection"):
                upstream.putheader(name, value)
        upstream.endheaders()
        for data in self._body_chunks():
            bytes_in += len(data)
            upstream.send(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
        if chunked:
            upstream.send(b"0\r\n\r\n")
        response = upstream.getresponse()
        # send_response would add a second Date and Server header to the endpoint's own
        self.send_response_only(response.status, response.reason)
        length = response.getheader("content-length")
        buffered = b"" if length is not None or self.command == "HEAD" else response.read()
        for name, value in response.getheaders():
            if name.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", length if length is not None else str(len(buffered)))
        self.end_headers()
        bytes_out, fault = 0, None
        try:
            if buffered:
                self.wfile.write(buffered)
                bytes_out = len(buffered)
            elif self.command != "HEAD":
                while data := response.read(SEND_BUFFER):
                    self.wfile.write(data)
                    bytes_out += len(data)
        except (BrokenPipeError, ConnectionResetError):
            fault, self.close_connection = "client hung up", True
        upstream.close()
        self._record(
            service, operation, split.path, response.status, bytes_in, bytes_out, fault, started, caller
        )

    def _record(
        self,
        service: str,
        operation: str,
        path: str,
        status: int,
        bytes_in: int,
        bytes_out: int,
        fault: str | None,
        started: float,
        caller: tuple[str, str, str],
    ) -> None:
        access_key, user_agent, ranged = caller
        request = Request(
            service,
            operation,
            self.command,
            path,
            status,
            bytes_in,
            bytes_out,
            fault,
            started,
            time.time() - started,
            access_key,
            user_agent,
            ranged,
        )
        with self.server.state.lock:
            self.server.state.log.append(request)

    def _dispatch(self) -> None:
        if self.path.startswith(CONTROL):
            self._control()
        else:
            self._forward()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _dispatch


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, upstream: str, seed: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        parsed = urlsplit(upstream)
        self.upstream_host = parsed.hostname or "127.0.0.1"
        self.upstream_port = parsed.port or 80
        self.state = _State(seed)


class ProxyClient:
    """The proxy's control API, for tests and benchmarks."""

    def __init__(self, url: str) -> None:
        self.url = url

    def requests(self) -> list[Request]:
        return [Request(**r) for r in requests.get(self.url + CONTROL + "log", timeout=30).json()]

    def reset(self) -> None:
        requests.post(self.url + CONTROL + "reset", timeout=30).raise_for_status()

    def inject(self, *rules: FaultRule, seed: int | None = None) -> None:
        """Replace the fault rules; `seed` restarts the rules' draws from that seed."""
        payload = [{k: v for k, v in asdict(r).items() if k not in ("seen", "injected")} for r in rules]
        params = {} if seed is None else {"seed": seed}
        requests.put(
            self.url + CONTROL + "faults", json=payload, params=params, timeout=30
        ).raise_for_status()

    def faults(self) -> list[FaultRule]:
        return [FaultRule(**r) for r in requests.get(self.url + CONTROL + "faults", timeout=30).json()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_proxy(upstream: str, log: Path, seed: int = 0, port: int | None = None) -> Iterator[ProxyClient]:
    """Start the proxy as its own process (so a busy test process cannot slow it), stop it after.
    `port`: where it listens (a port chosen before the upstream started, which calls it back)."""
    port = port or _free_port()
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--upstream", upstream, "--port", str(port), "--seed", str(seed)],
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    client = ProxyClient(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"aws_proxy exited early; see {log}:\n{log.read_text()[-2000:]}")
        try:
            client.faults()
            break
        except requests.RequestException:  # not listening yet, or slow to answer on a loaded machine
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"aws_proxy did not start within 30 s; see {log}") from None
            time.sleep(0.05)
    try:
        yield client
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--upstream", required=True, help="the endpoint to forward to, e.g. http://127.0.0.1:5000"
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault rules' sampling")
    args = parser.parse_args()
    server = _ProxyServer(args.port, args.upstream, args.seed)
    print(f"aws_proxy on 127.0.0.1:{args.port} → {args.upstream}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
