"""Per-environment settings: infra/config/<env>.yaml, validated against infra/config/schema.json."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import jsonschema
import yaml

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
ENVIRONMENTS = ("dev", "staging", "prod")
PROJECT = "seqpipe"


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class VpcConfig:
    cidr: str
    availability_zones: tuple[str, ...]  # zone letters; the region is prepended
    s3_prefix_list: str  # the region's AWS-managed prefix list of the S3 gateway endpoint
    dynamodb_prefix_list: str  # and of the DynamoDB gateway endpoint


@dataclass(frozen=True)
class BatchConfig:
    spot_max_vcpus: int
    on_demand_max_vcpus: int
    instance_types: tuple[str, ...]
    head_vcpus: int
    head_memory_mb: int
    head_timeout_seconds: int  # one attempt, from its start
    head_attempts: int  # Batch attempts; only a lost host is retried
    task_timeout_seconds: int
    image_tag: str


@dataclass(frozen=True)
class RetryConfig:
    """Step Functions Retry of throttling and service errors (full jitter is always on)."""

    interval_seconds: int
    max_attempts: int
    backoff_rate: float
    max_delay_seconds: int


@dataclass(frozen=True)
class RunConfig:
    """The run state machine's time limits and retries."""

    workflow_timeout_seconds: int  # RunWorkflow: the head job from submission to its end
    timeout_seconds: int  # the whole execution
    service_retry: RetryConfig


@dataclass(frozen=True)
class LifecycleConfig:
    raw_to_glacier_ir_days: int
    raw_to_deep_archive_days: int
    intermediate_expire_days: int
    delivery_expire_days: int
    abort_multipart_days: int
    noncurrent_expire_days: int
    access_logs_expire_days: int


@dataclass(frozen=True)
class DurabilityConfig:
    raw_lock_days: int  # Object Lock (governance) retention on raw; 0: none
    raw_replica_region: str | None  # where raw is replicated to; None: nowhere


@dataclass(frozen=True)
class BudgetConfig:
    monthly_usd: float
    thresholds_percent: tuple[float, ...]


@dataclass(frozen=True)
class AlarmTrigger:
    """An alarm fires when its metric reaches `threshold` in `evaluation_periods` consecutive periods."""

    threshold: float
    evaluation_periods: int


@dataclass(frozen=True)
class AlarmsConfig:
    run_failures: AlarmTrigger
    run_timeouts: AlarmTrigger
    qc_failures: AlarmTrigger
    lambda_errors: AlarmTrigger  # each function's own alarm
    lambda_throttles: AlarmTrigger  # each function's own alarm
    dead_letters: AlarmTrigger  # messages waiting in the dead-letter queue
    runnable_seconds: AlarmTrigger  # age of the oldest Batch job waiting RUNNABLE, per queue
    root_activity: AlarmTrigger  # calls made with the account's root user (trail log group)


@dataclass(frozen=True)
class ScheduleConfig:
    expression: str
    enabled: bool
    project: str
    samples: tuple[str, ...]
    config_key: str


@dataclass(frozen=True)
class LambdaConfig:
    memory_mb: int
    timeout_seconds: int
    reserved_concurrency: int


@dataclass(frozen=True)
class DashboardConfig:
    enabled: bool
    domain_name: str
    certificate_arn: str
    internet_facing: bool
    allowed_cidrs: tuple[str, ...]
    desired_count: int
    cpu: int
    memory_mb: int
    nat_gateways: int


@dataclass(frozen=True)
class Partner:
    """A known recipient of deliveries: its account reads the objects tagged with its name."""

    name: str
    principal: str  # the partner's account root or one of its roles (an IAM ARN)


@dataclass(frozen=True)
class EnvConfig:
    environment: str
    account: str
    region: str
    vpc: VpcConfig
    batch: BatchConfig
    run: RunConfig
    lambdas: LambdaConfig
    log_retention_days: int
    lifecycle: LifecycleConfig
    durability: DurabilityConfig
    alert_emails: tuple[str, ...]
    alarms: AlarmsConfig
    budget: BudgetConfig
    schedule: ScheduleConfig
    dashboard: DashboardConfig
    retain_data: bool
    deletion_protection: bool
    partners: tuple[Partner, ...] = ()

    @property
    def availability_zones(self) -> list[str]:
        return [f"{self.region}{letter}" for letter in self.vpc.availability_zones]

    @property
    def prefix(self) -> str:
        """Name prefix of every stack and named resource of this environment."""
        return f"{PROJECT}-{self.environment}"

    def at(self, account: str, region: str) -> EnvConfig:
        """The same settings in another account/region (the local endpoint uses moto's defaults)."""
        return replace(self, account=account, region=region)


def _schema() -> dict:
    return json.loads((CONFIG_DIR / "schema.json").read_text())


def _field_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def parse_config(data: object, source: str) -> EnvConfig:
    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(data), key=lambda e: e.path)
    if errors:
        lines = "; ".join(f"{_field_path(e)}: {e.message}" for e in errors)
        raise ConfigError(f"{source}: {lines}")
    assert isinstance(data, dict)
    lifecycle = LifecycleConfig(**data["lifecycle"])
    if lifecycle.raw_to_deep_archive_days <= lifecycle.raw_to_glacier_ir_days:
        raise ConfigError(
            f"{source}: lifecycle.raw_to_deep_archive_days ({lifecycle.raw_to_deep_archive_days}) must be "
            f"later than lifecycle.raw_to_glacier_ir_days ({lifecycle.raw_to_glacier_ir_days})"
        )
    if "0.0.0.0/0" in data["dashboard"]["allowed_cidrs"]:
        raise ConfigError(
            f"{source}: dashboard.allowed_cidrs: 0.0.0.0/0 would let anyone reach the sign-in page; "
            "name the networks of the people who use the dashboard"
        )
    durability = DurabilityConfig(**data["durability"])
    if durability.raw_replica_region == data["region"]:
        raise ConfigError(
            f"{source}: durability.raw_replica_region ({durability.raw_replica_region}) must be another "
            "region than the environment's: a replica in the same region survives nothing more"
        )
    batch = BatchConfig(**dict(data["batch"], instance_types=tuple(data["batch"]["instance_types"])))
    run = RunConfig(**dict(data["run"], service_retry=RetryConfig(**data["run"]["service_retry"])))
    _check_time_limits(batch, run, source)
    budget = data["budget"]
    return EnvConfig(
        environment=data["environment"],
        account=data["account"],
        region=data["region"],
        vpc=VpcConfig(
            data["vpc"]["cidr"],
            tuple(data["vpc"]["availability_zones"]),
            s3_prefix_list=data["vpc"]["gateway_prefix_lists"]["s3"],
            dynamodb_prefix_list=data["vpc"]["gateway_prefix_lists"]["dynamodb"],
        ),
        batch=batch,
        run=run,
        lambdas=LambdaConfig(**data["lambdas"]),
        log_retention_days=data["logs"]["retention_days"],
        lifecycle=lifecycle,
        durability=durability,
        alert_emails=tuple(data["alerts"]["emails"]),
        alarms=AlarmsConfig(**{name: AlarmTrigger(**trigger) for name, trigger in data["alarms"].items()}),
        budget=BudgetConfig(budget["monthly_usd"], tuple(budget["thresholds_percent"])),
        schedule=ScheduleConfig(**{**data["schedule"], "samples": tuple(data["schedule"]["samples"])}),
        dashboard=DashboardConfig(
            **{**data["dashboard"], "allowed_cidrs": tuple(data["dashboard"]["allowed_cidrs"])}
        ),
        retain_data=data["protection"]["retain_data"],
        deletion_protection=data["protection"]["deletion_protection"],
        partners=tuple(Partner(**partner) for partner in data["delivery"]["partners"]),
    )


def _check_time_limits(batch: BatchConfig, run: RunConfig, source: str) -> None:
    """Each limit must leave room for the one inside it, or the inner one could never apply."""
    for outer, outer_value, inner, inner_value in (
        ("run.workflow_timeout_seconds", run.workflow_timeout_seconds, "batch.head_timeout_seconds",
         batch.head_timeout_seconds),
        ("run.timeout_seconds", run.timeout_seconds, "run.workflow_timeout_seconds",
         run.workflow_timeout_seconds),
    ):  # fmt: skip
        if outer_value <= inner_value:
            raise ConfigError(f"{source}: {outer} ({outer_value}) must be more than {inner} ({inner_value})")


def load_config(environment: str, config_dir: Path = CONFIG_DIR) -> EnvConfig:
    path = config_dir / f"{environment}.yaml"
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file (environments: {', '.join(ENVIRONMENTS)})")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    config = parse_config(data, str(path))
    if config.environment != environment:
        raise ConfigError(f"{path}: environment is {config.environment!r}, expected {environment!r}")
    return config
