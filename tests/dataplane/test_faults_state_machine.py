"""Three runs of the same samples at once through the state machine, with a fifth of the service calls
faulted: the calls Step Functions makes (Lambda Invoke of its tasks) and those of the handlers it runs
(S3, DynamoDB) go through the fault-injecting proxy, which answers throttling and server errors at that
rate. The state machine's retry policy retries every faulted task once more, the handlers' SDK retries
the rest, and every run succeeds exactly once: one attempt, one head job, one QC item per sample, one
delivery; the samples' status is the verdict of the run that claimed them last."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from aws_proxy import FaultRule, error_rate, running_proxy
from moto_server import free_port, moto_server

from seqpipe.aws.repositories import Repositories
from seqpipe.orchestration.state_machine import RetryPolicy

pytestmark = pytest.mark.aws
DATA = Path(__file__).resolve().parent / "data"
LAUNCHER = Path(__file__).resolve().parents[1] / "support" / "moto_launch.py"
RUNS = ("RUN1", "RUN2", "RUN3")
SAMPLES = ["S1", "S2"]
FAULT_RATE = 0.2
SEED = 16
# the deployed policy's shape (run.service_retry: at least 6 retries), with test-sized intervals
RETRY = RetryPolicy(interval_seconds=1, max_attempts=6, backoff_rate=1.0)
LAMBDA_STATES = 5  # RecordRun, ValidateInputs, MarkRunning, CollectQC, Finalize


@pytest.fixture(scope="module")
def clients_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory, clients_port: int):
    """This module's own endpoint (overrides the session's): the server's own clients, Step Functions'
    tasks and the Lambda functions, call it through the proxy on `clients_port`."""
    log = tmp_path_factory.mktemp("moto-faults") / "moto.log"
    env = dict(os.environ, MOTO_BATCH_LOCAL_EXEC="1", MOTO_CLIENTS_PORT=str(clients_port))
    with moto_server(LAUNCHER, log, env) as url:
        yield url


@pytest.fixture(scope="module")
def clients_proxy(moto_endpoint: str, clients_port: int, tmp_path_factory: pytest.TempPathFactory):
    log = tmp_path_factory.mktemp("clients-proxy") / "proxy.log"
    with running_proxy(moto_endpoint, log, port=clients_port) as proxy:
        yield proxy


def test_runs_with_a_fifth_of_their_service_calls_faulted_succeed_once_each(
    dataplane, deploy_with, clients_proxy
):
    key = "P1/RUN1/S1/reads_R1.fastq.gz"
    dataplane.client("s3").upload_file(str(DATA / "reads_R1.fastq.gz"), dataplane.settings.raw_bucket, key)
    deployment = deploy_with(retry=RETRY, SAMPLES=",".join(SAMPLES), LOW_DEPTH_SAMPLES="S2")
    clients_proxy.reset()
    # the first two task invocations throttled and failed for sure, then a fifth of all calls at random
    clients_proxy.inject(
        FaultRule(service="lambda", throttle=True, limit=1),
        FaultRule(service="lambda", status=500, limit=1),
        *error_rate(FAULT_RATE, service="lambda|dynamodb|s3"),
        seed=SEED,
    )
    inputs = [f"s3://{dataplane.settings.raw_bucket}/{key}"]
    # at once: runs of the same samples, each settling their status (the last to claim them holds them)
    arns = {run: deployment.start(run, SAMPLES, inputs) for run in RUNS}
    executions = {run: deployment.wait(arn, timeout=900) for run, arn in arns.items()}
    clients_proxy.inject()
    log = clients_proxy.requests()

    repos = Repositories.from_settings(dataplane.settings)
    causes = {
        run: {k: v for k, v in (repos.jobs.get(run) or {}).items() if k.startswith("error")} for run in RUNS
    }
    assert {run: e["status"] for run, e in executions.items()} == dict.fromkeys(RUNS, "SUCCEEDED"), causes
    # every faulted Invoke failed its task once, and the task was retried
    histories = [deployment.history(arn) for arn in arns.values()]
    failed = Counter(
        e["taskFailedEventDetails"]["error"] for h in histories for e in h if "taskFailedEventDetails" in e
    )
    invoke_faults = [r for r in log if r.service == "lambda" and r.fault]
    assert sum(failed.values()) == len(invoke_faults) >= 2
    assert set(failed) <= {"Lambda.TooManyRequestsException", "Lambda.ServiceException"}
    assert {"Lambda.TooManyRequestsException", "Lambda.ServiceException"} <= set(failed)
    # each task ran once: as many answered invocations as Lambda states the runs went through
    invoked = [
        r for r in log if r.service == "lambda" and r.status == 200 and r.path.endswith("/invocations")
    ]
    assert len(invoked) == LAMBDA_STATES * len(RUNS)

    s3 = dataplane.client("s3")
    for run, arn in arns.items():
        job = repos.jobs.get(run)
        assert (job["status"], job["attempt"], job["execution_arn"]) == ("SUCCEEDED", 1, arn)
        assert sorted(q["sample"] for q in repos.quality.of_run(run)) == SAMPLES
        manifest = json.loads(
            s3.get_object(Bucket=dataplane.settings.delivery_bucket, Key=f"{run}/manifest.json")[
                "Body"
            ].read()
        )
        assert sorted(f["uri"].rsplit("/", 1)[-1] for f in manifest["files"]) == [
            "S1.bcftools.vcf.gz",
            "S1.cram",
        ]
    # every run judged S1 passed and S2 (low depth) failed; the samples carry the verdict, settled by
    # the run that claimed them last (a run that lost its samples to a later one settles nothing)
    settled = {s: repos.metadata.get_sample(s) for s in SAMPLES}
    assert {s: item["status"] for s, item in settled.items()} == {"S1": "DELIVERED", "S2": "QC_FAILED"}
    assert {item["run_id"] for item in settled.values()} <= set(RUNS)
    heads = deployment.jobs(deployment.head_queue)
    assert len(heads) == len(RUNS) and {j["status"] for j in heads} == {"SUCCEEDED"}

    faults = Counter((r.service, r.fault) for r in log if r.fault)
    faulted = [r for r in log if r.service in ("lambda", "dynamodb", "s3")]
    # the rate drawn (less the two certain faults) is near the one set
    assert 0.1 < (sum(faults.values()) - 2) / len(faulted) < 0.35
    print(
        f"\nfigures: {len(RUNS)} runs, {len(faulted)} Lambda/DynamoDB/S3 calls through the proxy,"
        f" {sum(faults.values())} faults injected ({dict(faults)}), {sum(failed.values())} task retries by"
        f" the state machine; runs succeeded {len(RUNS)}/{len(RUNS)}, attempts 1, head jobs {len(heads)},"
        " lost 0, duplicated 0"
    )
