"""Names of the deployed resources, read from the environment in one place.

Lambdas get these variables from the CDK stack; the CLI and the dashboard get them from the shell.
Defaults follow the `<prefix>-<base>` convention (prefix from SEQPIPE_PREFIX, default "seqpipe").
Only names live here: credentials come from the execution role, never from the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from seqpipe.aws.tables import ERASURE_AUDIT, JOBS, METADATA, QUALITY


@dataclass(frozen=True)
class Settings:
    metadata_table: str
    jobs_table: str
    qc_table: str
    raw_bucket: str
    processed_bucket: str
    delivery_bucket: str
    alert_topic_arn: str | None
    audit_table: str
    # Batch queues whose jobs belong to runs (head queue first): only the run cleanup needs them
    job_queues: tuple[str, ...] = ()
    # raw's replica in another region (prod): only erasure reaches it, as the erasure role
    raw_replica_bucket: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        prefix = env.get("SEQPIPE_PREFIX", "seqpipe")
        return cls(
            metadata_table=env.get("METADATA_TABLE") or f"{prefix}-{METADATA.base_name}",
            jobs_table=env.get("JOBS_TABLE") or f"{prefix}-{JOBS.base_name}",
            qc_table=env.get("QC_TABLE") or f"{prefix}-{QUALITY.base_name}",
            raw_bucket=env.get("RAW_BUCKET") or f"{prefix}-raw",
            processed_bucket=env.get("PROCESSED_BUCKET") or f"{prefix}-processed",
            delivery_bucket=env.get("DELIVERY_BUCKET") or f"{prefix}-delivery",
            alert_topic_arn=env.get("ALERT_TOPIC_ARN") or None,
            audit_table=env.get("AUDIT_TABLE") or f"{prefix}-{ERASURE_AUDIT.base_name}",
            job_queues=tuple(q for q in env.get("JOB_QUEUES", "").split(",") if q),
            raw_replica_bucket=env.get("RAW_REPLICA_BUCKET") or None,
        )

    def table_names(self) -> dict[str, str]:
        """Base name → deployed name, the shape `tables.create_tables` takes."""
        return {
            METADATA.base_name: self.metadata_table,
            JOBS.base_name: self.jobs_table,
            QUALITY.base_name: self.qc_table,
            ERASURE_AUDIT.base_name: self.audit_table,
        }

    def environment(self) -> dict[str, str]:
        """The variables that reproduce these settings (for Lambda and Batch environments), less the
        erasure audit table and raw's replica, which no workload may reach."""
        env = {
            "METADATA_TABLE": self.metadata_table,
            "JOBS_TABLE": self.jobs_table,
            "QC_TABLE": self.qc_table,
            "RAW_BUCKET": self.raw_bucket,
            "PROCESSED_BUCKET": self.processed_bucket,
            "DELIVERY_BUCKET": self.delivery_bucket,
        }
        if self.alert_topic_arn:
            env["ALERT_TOPIC_ARN"] = self.alert_topic_arn
        if self.job_queues:
            env["JOB_QUEUES"] = ",".join(self.job_queues)
        return env
