"""Infra test fixtures: each app is synthesized once per session; the local AWS endpoint (moto)
is started here with the project's launcher plus the CloudFormation fixes in support/."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

INFRA = Path(__file__).resolve().parents[1]
# the app, the shared endpoint starter, and the infra tests' helpers
for path in (INFRA, INFRA.parent / "tests" / "support", INFRA / "tests" / "support"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import pytest  # noqa: E402
from moto_server import fresh_environment, moto_server  # noqa: E402
from seqpipe_infra.config import ENVIRONMENTS, EnvConfig, load_config  # noqa: E402
from seqpipe_infra.iam_audit import Audit, audit_templates  # noqa: E402
from seqpipe_infra.local_endpoint import LOCAL_ACCOUNT, LOCAL_REGION  # noqa: E402

MOTO_LAUNCHER = INFRA / "tests" / "support" / "moto_infra_launch.py"


@dataclass
class Synthesis:
    outdir: Path
    configs: dict[str, EnvConfig]
    seconds: float
    error: str | None  # cdk-nag findings make synth raise; the templates are written anyway

    def template(self, stack_name: str) -> dict:
        return json.loads((self.outdir / f"{stack_name}.template.json").read_text())

    def templates(self, environment: str) -> dict[str, dict]:
        prefix = self.configs[environment].prefix
        return {
            path.name.removesuffix(".template.json"): json.loads(path.read_text())
            for path in sorted(self.outdir.glob(f"{prefix}-*.template.json"))
        }

    def manifest(self) -> dict:
        """The cloud assembly's manifest: each stack's account/region and its dependencies."""
        return json.loads((self.outdir / "manifest.json").read_text())

    def validation_report(self) -> dict:
        path = self.outdir / "validation-report.json"
        return json.loads(path.read_text()) if path.exists() else {"pluginReports": []}


def _synthesize(outdir: Path, configs: list[EnvConfig], **kwargs) -> Synthesis:
    from seqpipe_infra.app_builder import build_app

    started = time.perf_counter()
    app, _ = build_app(configs, outdir=str(outdir), **kwargs)
    error = None
    try:
        app.synth()
    except RuntimeError as exc:
        error = str(exc)
    return Synthesis(outdir, {c.environment: c for c in configs}, time.perf_counter() - started, error)


@pytest.fixture(scope="session")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """dev, staging and prod in one app, with the cdk-nag packs as validation plugins."""
    return _synthesize(tmp_path_factory.mktemp("cdk.out"), [load_config(env) for env in ENVIRONMENTS])


@pytest.fixture(params=ENVIRONMENTS)
def env(request: pytest.FixtureRequest, synthesis: Synthesis) -> tuple[EnvConfig, dict[str, dict]]:
    """(config, {stack name: template}) of one environment."""
    return synthesis.configs[request.param], synthesis.templates(request.param)


@pytest.fixture(params=ENVIRONMENTS)
def audited(request: pytest.FixtureRequest, synthesis: Synthesis) -> tuple[EnvConfig, Audit]:
    """(config, the IAM audit of its templates) of one environment."""
    config = synthesis.configs[request.param]
    return config, audit_templates(synthesis.outdir, config.prefix, config.account, config.region)


@pytest.fixture(scope="session")
def local_synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """dev in moto's account/region, without the bootstrap-version rule (no SSM parameter there)."""
    import aws_cdk as cdk

    return _synthesize(
        tmp_path_factory.mktemp("cdk.out.local"),
        [load_config("dev").at(LOCAL_ACCOUNT, LOCAL_REGION)],
        rule_packs=False,
        synthesizer_factory=lambda: cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto in server mode on loopback; Batch jobs succeed without running (batch_simple). Its recorder
    (off until a test starts it) logs the requests it serves to a file of this session."""
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTO_")}
    env["MOTO_RECORDER_FILEPATH"] = str(log.with_name("requests.jsonl"))
    with moto_server(MOTO_LAUNCHER, log, env) as url:
        yield url


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Callable:
    """Fresh emulator state; the environment points boto3 (and subprocesses) at the endpoint."""
    import boto3

    for key, value in fresh_environment(moto_endpoint, LOCAL_REGION).items():
        monkeypatch.setenv(key, value)
    return lambda service: boto3.client(service, region_name=LOCAL_REGION)
