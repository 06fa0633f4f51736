"""Per-environment config files: all load; bad ones fail with the file and the field named."""

from __future__ import annotations

import pytest
import yaml
from seqpipe_infra.config import CONFIG_DIR, ENVIRONMENTS, ConfigError, load_config


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_environment_config_loads(environment):
    config = load_config(environment)
    assert config.environment == environment
    assert config.prefix == f"seqpipe-{environment}"
    assert all(zone.startswith(config.region) for zone in config.availability_zones)


def test_prod_is_protected_and_dev_is_disposable():
    assert load_config("prod").deletion_protection and load_config("prod").retain_data
    assert not load_config("dev").deletion_protection and not load_config("dev").retain_data


def _write(tmp_path, environment: str, change) -> None:
    data = yaml.safe_load((CONFIG_DIR / "dev.yaml").read_text())
    data["environment"] = environment
    change(data)
    (tmp_path / f"{environment}.yaml").write_text(yaml.safe_dump(data))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(account="12345"), "account: '12345' does not match"),
        (
            lambda d: d["lifecycle"].pop("delivery_expire_days"),
            "lifecycle: 'delivery_expire_days' is a required property",
        ),
        (lambda d: d["logs"].update(retention_days=10), "logs.retention_days: 10 is not one of"),
        (
            lambda d: d["batch"].update(spot_max_vcpus="many"),
            "batch.spot_max_vcpus: 'many' is not of type 'integer'",
        ),
        (
            lambda d: d.update(colour="blue"),
            "Additional properties are not allowed ('colour' was unexpected)",
        ),
        (
            lambda d: d["lifecycle"].update(raw_to_deep_archive_days=10),
            "lifecycle.raw_to_deep_archive_days (10) must be later than "
            "lifecycle.raw_to_glacier_ir_days (30)",
        ),
        (
            lambda d: d["dashboard"].update(allowed_cidrs=["10.0.0.0/8", "0.0.0.0/0"]),
            "dashboard.allowed_cidrs: 0.0.0.0/0 would let anyone reach the sign-in page",
        ),
        (
            lambda d: d["alarms"]["qc_failures"].update(threshold=0),
            "alarms.qc_failures.threshold: 0 is less than or equal to the minimum of 0",
        ),
        (
            lambda d: d["alarms"].pop("lambda_errors"),
            "alarms: 'lambda_errors' is a required property",
        ),
        (
            lambda d: d["dashboard"].update(certificate_arn="my-cert"),
            "dashboard.certificate_arn: 'my-cert' does not match",
        ),
        (lambda d: d.pop("run"), "(top level): 'run' is a required property"),
        (
            lambda d: d["run"]["service_retry"].update(max_attempts=2),
            "run.service_retry.max_attempts: 2 is less than the minimum of 6",
        ),
        (
            lambda d: d["run"]["service_retry"].update(backoff_rate=1),
            "run.service_retry.backoff_rate: 1 is less than or equal to the minimum of 1",
        ),
        (
            lambda d: d["batch"].update(head_attempts=11),
            "batch.head_attempts: 11 is greater than the maximum of 10",
        ),
        (
            lambda d: d["run"].update(workflow_timeout_seconds=43200),
            "run.workflow_timeout_seconds (43200) must be more than batch.head_timeout_seconds (43200)",
        ),
        (
            lambda d: d["run"].update(timeout_seconds=3600),
            "run.timeout_seconds (3600) must be more than run.workflow_timeout_seconds (64800)",
        ),
        (
            lambda d: d["durability"].update(raw_replica_region="eu-west-1"),
            "durability.raw_replica_region (eu-west-1) must be another region than the environment's",
        ),
        (
            lambda d: d["durability"].update(raw_lock_days=-1),
            "durability.raw_lock_days: -1 is less than the minimum of 0",
        ),
        (
            lambda d: d["vpc"]["gateway_prefix_lists"].update(s3="com.amazonaws.eu-west-1.s3"),
            "vpc.gateway_prefix_lists.s3: 'com.amazonaws.eu-west-1.s3' does not match",
        ),
    ],
)
def test_a_bad_config_names_the_file_and_the_field(tmp_path, change, message):
    _write(tmp_path, "dev", change)
    with pytest.raises(ConfigError) as error:
        load_config("dev", tmp_path)
    assert str(error.value).startswith(str(tmp_path / "dev.yaml"))
    assert message in str(error.value)


def test_a_config_for_another_environment_or_a_missing_file_is_refused(tmp_path):
    _write(tmp_path, "staging", lambda d: None)
    (tmp_path / "staging.yaml").rename(tmp_path / "prod.yaml")
    with pytest.raises(ConfigError, match="environment is 'staging', expected 'prod'"):
        load_config("prod", tmp_path)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config("dev", tmp_path)


def test_invalid_yaml_is_reported_with_the_file(tmp_path):
    (tmp_path / "dev.yaml").write_text("environment: dev\nvpc: [unclosed\n")
    with pytest.raises(ConfigError, match=r"dev\.yaml: not valid YAML"):
        load_config("dev", tmp_path)
