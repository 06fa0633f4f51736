"""Start moto 5.2.5 on loopback, patched for offline tests without docker.

1. Step Functions executes state machines; Lambda and Batch use moto's docker-free backends.
2. Lambda Invoke runs the function's Python handler from its zip in a subprocess,
   with AWS_ENDPOINT_URL pointing back at this server (or at the proxy on MOTO_CLIENTS_PORT).
   The handler's stdout (logs, EMF metrics) goes to the server log, not into the response; the
   context has the attributes Powertools reads, and a request id of its own per invocation.
   Its SDK calls carry the function's name as their app id (User-Agent `app/<name>`), so that the
   server's request log (moto's recorder) says which function made each request.
2b. EMF documents in a function's output become metrics in the endpoint's CloudWatch, as CloudWatch
   Logs turns them into metrics in AWS (so a test can read what an alarm would see).
2c. EventBridge rules with a Lambda target invoke the function asynchronously, as EventBridge does
   (stock: NotImplementedError, and the event is lost for the rule's other targets); a scheduled
   rule matches no event (stock: it matches every event and its target raises). S3's events carry
   "etag" and a sequencer that grows with each change, as S3 sends them (stock: "eTag", one constant).
3. Step Functions' Batch integration gets its parameter/response normalisation back
   (stock moto: KeyError 'JobName' on arn:aws:states:::batch:submitJob[.sync]).
3b. State machines created through CloudFormation land in the executing backend.
3c. Unnamed executions get a uuid name (stock: named 'None', 2nd start fails).
3d. Batch jobs copy their container overrides (a Step Functions retry of submitJob reuses them).
3e. A retried .sync task polls its new job (stock: every retry ends at once in States.Timeout).
3f. An execution that ends sends "Step Functions Execution Status Change" to the default event bus,
   as Step Functions does, so that rules on it run (stock: no event).
4. MOTO_BATCH_LOCAL_EXEC=1: Batch container jobs run their command as a local process, each in an
   empty working directory, signing its AWS requests with its own access key (`batch-h<host>-<job id>`)
   and naming its job id as its SDK app id, as a job-role session of a real container would: a request
   log attributes every request to its job and host. Attempts follow the job definition's
   retryStrategy (evaluateOnExit included); a job process killed by SIGKILL ends its attempt as a lost
   host does; TerminateJob stops the process; a job whose queue has no ENABLED compute environment
   stays RUNNABLE (no capacity); DescribeJobs gives an ended job's container exitCode.
   MOTO_BATCH_HOSTS=dir1:dir2...: emulated compute hosts (default: one, in a temporary directory); jobs
   are given hosts in turn, and each gets its host's directory as its reference cache
   (SEQPIPE_REFERENCE_CACHE, a volume of the host on AWS).
   MOTO_BATCH_JOB_ENDPOINT=URL: the endpoint jobs are given (default this server), e.g. a counting proxy.
5. MOTO_S3_LARGE_OBJECTS=1: ranged GETs and multipart completion without loading whole objects
   into memory (multi-GB objects for benchmarks).

Usage: python moto_launch.py PORT
"""

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 5055
# The port the server's own clients call: Step Functions tasks (the interpreter calls other services
# at http://localhost:$MOTO_PORT) and Lambda functions. MOTO_CLIENTS_PORT puts a proxy there (the
# fault-injecting tests/support/aws_proxy.py, started on that port in front of this server).
CLIENTS_PORT = int(os.environ.get("MOTO_CLIENTS_PORT") or PORT)
os.environ["MOTO_PORT"] = str(CLIENTS_PORT)

import botocore.session  # noqa: E402
from botocore import xform_name  # noqa: E402
from moto.core.config import default_user_config  # noqa: E402

default_user_config["stepfunctions"] = {"execute_state_machine": True}
default_user_config["lambda"] = {"use_docker": False}
default_user_config["batch"] = {"use_docker": False}

# ---- 2. Lambda: run Python handlers from the zip, without docker -------------
from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: E402

_CODE_CACHE = tempfile.mkdtemp(prefix="moto-lambda-")
_RUNNER = r"""
import importlib, json, sys, traceback, uuid
mod, fn = sys.argv[1].rsplit(".", 1)
event = json.loads(sys.stdin.read() or "null")
# Like the Lambda runtime, keep the handler's own output (logs, EMF metrics) apart from the
# response: the handler sees stderr as stdout, the response goes to the real stdout.
response_channel, sys.stdout = sys.stdout, sys.stderr
class Ctx:
    function_name = sys.argv[2]; function_version = "$LATEST"; aws_request_id = str(uuid.uuid4())
    memory_limit_in_mb = 128; log_group_name = "/aws/lambda/" + sys.argv[2]; log_stream_name = "local"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + sys.argv[2]
    def get_remaining_time_in_millis(self): return 300000
try:
    out = getattr(importlib.import_module(mod), fn)(event, Ctx())
    response_channel.write(json.dumps(out)); sys.exit(0)
except Exception as e:
    response_channel.write(json.dumps({"errorMessage": str(e), "errorType": type(e).__name__,
                                       "stackTrace": traceback.format_exc().splitlines()})); sys.exit(3)
"""


def _invoke(self, function_name, qualifier, body, headers, response_headers):
    fn = self.get_function(function_name, qualifier)  # ResourceNotFound if missing
    if self.lambda_simple_results_queue:
        return str.encode(self.lambda_simple_results_queue.pop(0))
    if not (fn.run_time or "").startswith("python") or not fn.code_bytes:
        return str.encode(body or "Simple Lambda happy path OK")
    digest = hashlib.sha256(fn.code_bytes).hexdigest()
    code_dir = os.path.join(_CODE_CACHE, digest)
    if not os.path.isdir(code_dir):
        zipfile.ZipFile(io.BytesIO(fn.code_bytes)).extractall(code_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTO")}
    env.update(fn.environment_vars or {})
    env.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{CLIENTS_PORT}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region_name,
            "AWS_REGION": self.region_name,
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "PYTHONPATH": code_dir,
            "AWS_SDK_UA_APP_ID": fn.function_name,
        }
    )
    t0 = time.time()
    p = subprocess.run(
        [sys.executable, "-c", _RUNNER, fn.handler, fn.function_name],
        input=body or "null",
        capture_output=True,
        text=True,
        cwd=code_dir,
        env=env,
        timeout=int(fn.timeout or 30),
    )
    if p.returncode != 0:
        response_headers["x-amz-function-error"] = "Unhandled"
    log = f"START {fn.function_name}\n{p.stderr}END duration={time.time() - t0:.3f}s\n"
    response_headers["x-amz-log-result"] = base64.b64encode(log[-4096:].encode()).decode()
    print(log, flush=True)  # the server log keeps every invocation's output
    _publish_emf(self.account_id, self.region_name, p.stderr)
    return (p.stdout or "null").encode()


LambdaSimpleBackend.invoke = _invoke


# ---- 2b. EMF lines of a function's output → CloudWatch metrics ---------------------------------
def _publish_emf(account_id, region, output):
    from moto.cloudwatch.models import cloudwatch_backends

    for line in output.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        try:
            document = json.loads(line)
        except ValueError:
            continue
        for directive in document["_aws"].get("CloudWatchMetrics", []):
            for names in directive.get("Dimensions") or [[]]:
                dimensions = [{"Name": name, "Value": str(document[name])} for name in names]
                data = []
                for metric in directive.get("Metrics", []):
                    values = document[metric["Name"]]
                    data.append(
                        {
                            "MetricName": metric["Name"],
                            "Unit": metric.get("Unit", "None"),
                            "Dimensions": dimensions,
                            "Values": values if isinstance(values, list) else [values],
                        }
                    )
                cloudwatch_backends[account_id][region].put_metric_data(directive["Namespace"], data)


# ---- 2c. EventBridge: Lambda targets are invoked (asynchronously), schedules match no event ------
import itertools  # noqa: E402
import threading  # noqa: E402

from moto.awslambda_simple.models import lambda_simple_backends  # noqa: E402
from moto.events import models as _events_models  # noqa: E402

_send_to_targets = _events_models.Rule.send_to_targets


_S3_SEQUENCERS = itertools.count(0x0062E99A88DC407460)


def _as_s3_sends_it(event):
    """S3's events name the ETag "etag" and give each change of a key a greater sequencer (stock moto:
    "eTag", and one constant sequencer). The event is rewritten in place, once: every rule gets the
    same dict."""
    obj = event.get("detail", {}).get("object", {}) if event.get("source") == "aws.s3" else {}
    if "eTag" in obj:
        obj["etag"] = obj.pop("eTag")
        obj["sequencer"] = f"{next(_S3_SEQUENCERS):018X}"


def _send_to_targets_and_lambdas(self, original_event, transform_input=True):
    _as_s3_sends_it(original_event)
    if self.scheduled_expression:
        return None
    functions = [t for t in self.targets if t["Arn"].split(":")[2] == "lambda"]
    if not functions:
        return _send_to_targets(self, original_event, transform_input)
    if not self.event_pattern.matches_event(original_event):
        return None
    all_targets, self.targets = self.targets, [t for t in self.targets if t not in functions]
    try:
        _send_to_targets(self, original_event, transform_input)
    finally:
        self.targets = all_targets
    backend = lambda_simple_backends[self.account_id][self.region_name]
    # moto keeps an event's time as epoch seconds; EventBridge delivers it as ISO 8601
    when = original_event.get("time")
    if isinstance(when, int | float):
        original_event = {**original_event, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))}
    payload = json.dumps(original_event, default=str)
    for target in functions:
        threading.Thread(
            target=backend.invoke, args=(target["Arn"], None, payload, {}, {}), daemon=True
        ).start()
    return None


_events_models.Rule.send_to_targets = _send_to_targets_and_lambdas

# ---- 3. Step Functions Batch integration: restore parameter normalisation ----
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: E402
    state_task_service_batch as _sfn_batch,
)

_session = botocore.session.get_session()


def _op_model(self, boto_service_name, service_action_name):
    svc = self._get_boto_service_name(boto_service_name=boto_service_name)
    action = xform_name(service_action_name or self.resource.api_action)
    model = _session.get_service_model(svc)
    ops = {xform_name(n): n for n in model.operation_names}
    return model.operation_model(ops[action])


def _norm_params(self, parameters, boto_service_name=None, service_action_name=None):
    self._to_boto_request(parameters, _op_model(self, boto_service_name, service_action_name).input_shape)


def _norm_response(self, response, boto_service_name=None, service_action_name=None):
    self._from_boto_response(response, _op_model(self, boto_service_name, service_action_name).output_shape)


_sfn_batch.StateTaskServiceBatch._normalise_parameters = _norm_params
_sfn_batch.StateTaskServiceBatch._normalise_response = _norm_response

# ---- 3b. CloudFormation-created state machines must land in the executing backend
import moto.stepfunctions.models as _sfn_models  # noqa: E402
from moto.stepfunctions.parser.models import stepfunctions_parser_backends  # noqa: E402

_sfn_models.stepfunctions_backends = stepfunctions_parser_backends

# ---- 3c. unnamed executions: moto 5.2.5's executing backend names them 'None', so a
# second unnamed start_execution on one state machine raises ExecutionAlreadyExists
# (or, with identical input, silently returns the first execution).
import uuid as _uuid  # noqa: E402

from moto.stepfunctions.parser.models import StepFunctionsParserBackend  # noqa: E402

_orig_start = StepFunctionsParserBackend.start_execution


def _start_execution(self, state_machine_arn, name=None, *args, **kwargs):
    return _orig_start(self, state_machine_arn, name or str(_uuid.uuid4()), *args, **kwargs)


StepFunctionsParserBackend.start_execution = _start_execution

# ---- 3d. Batch jobs own their container overrides: moto appends AWS_BATCH_JOB_ID (and more) to the
# overrides' environment list in place; when Step Functions retries a batch:submitJob task, that list
# is still referenced by the state's parameters, so the retry submits those extra lower-case entries
# and the task ends in States.Timeout instead of a clean second attempt.
import copy as _copy  # noqa: E402

from moto.batch.models import Job as _BatchJob  # noqa: E402

_orig_job_init = _BatchJob.__init__


def _job_init(self, *args, **kwargs):
    _orig_job_init(self, *args, **kwargs)
    self.container_overrides = _copy.deepcopy(self.container_overrides)


_BatchJob.__init__ = _job_init

# ---- 3e. A retried .sync task must wait for its new job: the interpreter also listens on the state's
# task-token callback endpoint, which the first attempt interrupted when it ended, so every retry of
# a batch:submitJob.sync task "timed out" at once (States.Timeout). .sync tasks never use task
# tokens, so the retry just polls the job.
import importlib  # noqa: E402

_CallbackTask = importlib.import_module(
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback"
).StateTaskServiceCallback

_orig_eval_sync = _CallbackTask._eval_sync


def _eval_sync(self, env, sync_resolver, timeout_seconds, callback_endpoint, heartbeat_endpoint):
    return _orig_eval_sync(
        self,
        env=env,
        sync_resolver=sync_resolver,
        timeout_seconds=timeout_seconds,
        callback_endpoint=None,
        heartbeat_endpoint=heartbeat_endpoint,
    )


_CallbackTask._eval_sync = _eval_sync

# ---- 3f. Step Functions execution status changes → EventBridge (default bus) ----------------------
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication  # noqa: E402

_terminated = BaseExecutionWorkerCommunication.terminated


def _millis(moment):
    return int(moment.timestamp() * 1000) if moment else None


def _terminated_with_event(self):
    _terminated(self)
    execution = self.execution
    output = execution.output if execution.exec_status.value == "SUCCEEDED" else None
    event = {
        "version": "0",
        "id": str(_uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": execution.account_id,
        "region": execution.region_name,
        "time": time.time(),
        "resources": [execution.exec_arn],
        "detail": {
            "executionArn": execution.exec_arn,
            "stateMachineArn": execution.state_machine.arn,
            "name": execution.name,
            "status": execution.exec_status.value,
            "startDate": _millis(execution.start_date),
            "stopDate": _millis(execution.stop_date),
            "input": json.dumps(execution.input_data),
            "inputDetails": {"included": True},
            "output": None if output is None else json.dumps(output),
            "error": execution.error,
            "cause": execution.cause,
        },
    }
    from moto.events.models import events_backends

    bus = events_backends[execution.account_id][execution.region_name].event_buses.get("default")
    for rule in list(bus.rules.values()) if bus else []:
        rule.send_to_targets(event, transform_input=False)


BaseExecutionWorkerCommunication.terminated = _terminated_with_event

# ---- 4. optional: run Batch container commands as local processes ------------
# MOTO_BATCH_LOCAL_EXEC=1: a submitted (non-array) container job runs its 'command' on the host (the
# "image" is the host + this venv), RUNNING, then SUCCEEDED/FAILED by exit code; 'pip install' in the
# command is a no-op (the venv already has the plugins). What Batch itself does around a job:
# - attempts: up to retryStrategy.attempts of the job definition; after a failed attempt the first
#   evaluateOnExit rule whose onStatusReason/onReason/onExitCode globs all match says RETRY or EXIT, and
#   no matching rule means RETRY (as in Batch). A terminated or timed-out job is not retried.
# - a lost host: an attempt whose process was killed by SIGKILL (by itself or by a test, as a Spot
#   reclaim or a dying instance kills it: no exit of its own) ends with Batch's status reason
#   "Host EC2 (instance i-…) terminated." and no exit code.
# - TerminateJob: the job's process group gets SIGTERM (SIGKILL 2 s later); the job is FAILED with the
#   given reason. A job that never started is FAILED at once.
# - no capacity: a job whose queue has no ENABLED compute environment stays RUNNABLE until terminated.
if os.environ.get("MOTO_BATCH_LOCAL_EXEC") == "1":
    import contextlib
    import fnmatch
    import itertools
    import shutil
    import signal
    from datetime import datetime

    from moto.batch.models import Job as _Job

    _HOSTS = [h for h in os.environ.get("MOTO_BATCH_HOSTS", "").split(":") if h] or [
        tempfile.mkdtemp(prefix="moto-batch-host-")
    ]
    _TURN = itertools.count()
    from moto.batch_simple.models import BatchSimpleBackend

    _orig_finish = BatchSimpleBackend._mark_job_as_finished
    _SHIM = tempfile.mkdtemp(prefix="moto-batch-shim-")
    with open(os.path.join(_SHIM, "pip"), "w") as f:
        f.write("#!/bin/sh\necho '[moto-batch] pip install skipped' >&2\n")
    os.chmod(os.path.join(_SHIM, "pip"), 0o755)
    _PROCESSES = {}  # job id → the process of its running attempt
    _HOST_LOST = "Host EC2 (instance i-0{}) terminated."
    _EXITED = "Essential container in task exited"
    _TIMED_OUT = "Job attempt duration exceeded timeout"

    def _lower_first(mapping):
        return {k[:1].lower() + k[1:]: v for k, v in (mapping or {}).items()}

    def _action(strategy, exit_code, status_reason, reason):
        """Batch's evaluateOnExit: the first rule whose conditions all match; none matching: RETRY."""
        observed = {
            "onExitCode": "" if exit_code is None else str(exit_code),
            "onStatusReason": status_reason or "",
            "onReason": reason or "",
        }
        for rule in map(_lower_first, strategy.get("evaluateOnExit") or []):
            conditions = {k: v for k, v in rule.items() if k in observed}
            if all(fnmatch.fnmatchcase(observed[k], pattern) for k, pattern in conditions.items()):
                return rule["action"].upper()
        return "RETRY"

    def _run_attempt(region, job):
        """One attempt as a local process: (exit code or None, status reason)."""
        cmd = job._get_container_property("command", [])
        env = dict(os.environ)
        # what the job role + region would give a real container: its own credentials and this endpoint
        host = next(_TURN) % len(_HOSTS)
        env.update(
            {
                "AWS_ACCESS_KEY_ID": f"batch-h{host}-{job.job_id}",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SDK_UA_APP_ID": job.job_id,
                "AWS_DEFAULT_REGION": region,
                "AWS_ENDPOINT_URL": os.environ.get("MOTO_BATCH_JOB_ENDPOINT", f"http://127.0.0.1:{PORT}"),
            }
        )
        env["SEQPIPE_REFERENCE_CACHE"] = _HOSTS[host]
        env.update({e["name"]: e["value"] for e in job._get_container_property("environment", [])})
        env["PATH"] = f"{_SHIM}:{os.path.dirname(sys.executable)}:{env.get('PATH', '')}"
        workdir = tempfile.mkdtemp(prefix=f"moto-batch-{job.job_id[:8]}-")
        timeout = (job.timeout or job.job_definition.timeout or {}).get("attemptDurationSeconds", 3600)
        with open(os.path.join(workdir, "job.log"), "w+") as log:
            process = subprocess.Popen(
                cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            _PROCESSES[job.job_id] = process
            try:
                returncode = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                returncode = None
            finally:
                _PROCESSES.pop(job.job_id, None)
            log.seek(0)
            output = log.read()
        if os.environ.get("MOTO_BATCH_KEEP_WORKDIR") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
        if job.stop:  # terminated: Batch reports the signal as 128 + its number
            return (128 - returncode if returncode and returncode < 0 else returncode), job.job_stopped_reason
        if returncode is None:
            return None, _TIMED_OUT
        if returncode == -signal.SIGKILL:
            return None, _HOST_LOST.format(job.job_id.replace("-", "")[:16])
        if returncode != 0:
            print(f"[moto-batch] job {job.job_name} rc={returncode}\n{output[-3000:]}", flush=True)
        return returncode, _EXITED

    def _run_attempts(region, job):
        strategy = _lower_first(job.job_definition.retry_strategy)
        attempts = int(strategy.get("attempts") or 1)
        for number in range(1, attempts + 1):
            if number > 1 and job.stop:
                break
            if number > 1:
                job.job_started_at = datetime.now()
                job._start_attempt()
                job.status = "RUNNING"
            exit_code, status_reason = _run_attempt(region, job)
            attempt = job.latest_attempt
            attempt["statusReason"] = status_reason
            if exit_code is not None:
                attempt["container"]["exitCode"] = exit_code
            retried = number < attempts and exit_code != 0 and not job.stop and status_reason != _TIMED_OUT
            if not retried or _action(strategy, exit_code, status_reason, None) != "RETRY":
                break
            attempt["stoppedAt"] = int(datetime.now().timestamp() * 1000)
            print(f"[moto-batch] job {job.job_name} attempt {number}: {status_reason}; retried", flush=True)
        job.exit_code = exit_code
        job.job_stopped_reason = status_reason
        job._mark_stopped(success=exit_code == 0)

    def _finish(self, include_start_attempt, job):
        if not include_start_attempt or job.job_definition.container_properties is None:
            return _orig_finish(self, include_start_attempt, job)
        self.backend._jobs[job.job_id] = job
        job.log_stream_name = job._stream_name
        if not any(environment.state == "ENABLED" for environment in job.job_queue.environments):
            job.status = "RUNNABLE"
            return None
        job.job_started_at = datetime.now()
        job._start_attempt()
        job.status = "RUNNING"
        threading.Thread(target=_run_attempts, args=(self.region_name, job), daemon=True).start()
        return None

    BatchSimpleBackend._mark_job_as_finished = _finish

    _orig_terminate = _Job.terminate

    def _signal(process, signum):
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signum)

    def _terminate(self, reason):
        _orig_terminate(self, reason)
        process = _PROCESSES.get(self.job_id)
        if process is not None:
            _signal(process, signal.SIGTERM)
            threading.Timer(2, _signal, args=(process, signal.SIGKILL)).start()
        elif not self.job_stopped and self.status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING"):
            self._mark_stopped(success=False)

    _Job.terminate = _terminate

    _orig_container_details = _Job._container_details

    def _container_details(self):
        """With the exit code of an ended job, as Batch's DescribeJobs gives it (stock: only in
        ListJobs' short form)."""
        details = _orig_container_details(self)
        if self.job_stopped and self.exit_code is not None:
            details["exitCode"] = self.exit_code
        return details

    _Job._container_details = _container_details

# ---- 5. optional: large S3 objects (MOTO_S3_LARGE_OBJECTS=1; used by benchmarks/quick_validation.py) ----
# Stock moto reads a whole object into memory for every GET, ranged or not, and builds a completed
# multipart upload as one bytearray, so a 5 GB object costs >10 GB of RAM and seconds per range
# request: the emulator, not the client, would dominate. With this option a single-range GET is
# served by seeking in the object's spooled file, and completing a multipart upload streams the
# parts into one temporary file.
if os.environ.get("MOTO_S3_LARGE_OBJECTS") == "1":
    import re as _re
    import shutil as _shutil
    from hashlib import md5 as _md5

    from moto.s3.exceptions import InvalidPart as _InvalidPart
    from moto.s3.models import S3Backend as _S3Backend
    from moto.s3.responses import S3Response as _S3Response

    _orig_key_response = _S3Response.key_response
    _SINGLE_RANGE = _re.compile(r"^bytes=(\d+)-(\d*)$")

    def _key_response(self, request, full_url, headers):
        match = _SINGLE_RANGE.match(request.headers.get("range", ""))
        if request.method != "GET" or match is None or "?" in full_url:
            return _orig_key_response(self, request, full_url, headers)
        self.setup_class(request, full_url, headers)
        bucket = self.backend.buckets.get(self.parse_bucket_name_from_url(request, full_url))
        key = bucket.keys.get(self.parse_key_name()) if bucket else None
        if key is None or not hasattr(key, "_value_buffer"):
            return _orig_key_response(self, request, full_url, headers)
        begin = int(match.group(1))
        end = min(int(match.group(2)) if match.group(2) else key.size - 1, key.size - 1)
        if begin > end:
            return _orig_key_response(self, request, full_url, headers)
        with key.lock:
            key._value_buffer.seek(begin)
            content = key._value_buffer.read(end - begin + 1)
        response_headers = dict(key.response_dict)
        response_headers.update(
            {
                "content-range": f"bytes {begin}-{end}/{key.size}",
                "content-length": str(len(content)),
                "Accept-Ranges": "bytes",
            }
        )
        return 206, response_headers, content

    _S3Response.key_response = _key_response

    def _complete_multipart_upload(self, bucket_name, multipart_id, body):
        bucket = self.get_bucket(bucket_name)
        multipart = bucket.multiparts[multipart_id]
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (owned by the key from here on)
        md5s, count = b"", 0
        for number, etag in body:
            part = multipart.parts.get(number)
            if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
                raise _InvalidPart()
            with part.lock:
                part._value_buffer.seek(0)
                _shutil.copyfileobj(part._value_buffer, spool, 16 * 1024 * 1024)
            md5s += bytes.fromhex(part.etag.replace('"', ""))
            count += 1
        del bucket.multiparts[multipart_id]
        key = self.put_object(
            bucket_name,
            multipart.key_name,
            b"",
            storage=multipart.storage,
            etag=f"{_md5(md5s).hexdigest()}-{count}",
            multipart=multipart,
        )
        key._value_buffer.close()
        key._value_buffer = spool
        key.contentsize = spool.tell()
        key.set_metadata(multipart.metadata)
        return key

    _S3Backend.complete_multipart_upload = _complete_multipart_upload

# ---- start ------------------------------------------------------------------
from moto.server import ThreadedMotoServer  # noqa: E402

if __name__ == "__main__":
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=PORT, verbose=True)
    server.start()
    print(f"moto ready on http://127.0.0.1:{PORT}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
