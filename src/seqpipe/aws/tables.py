"""The three DynamoDB tables of the data plane, declared once.

The CDK stacks (infra/) build their tables from these specs and the tests create them in the local
endpoint with `create_table_kwargs`, so keys and indexes cannot drift apart. Every access pattern in
docs/data-plane.md is one Query on a table or one of these indexes; nothing needs a Scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

AttributeType = Literal["S", "N", "B"]
Projection = Literal["ALL", "KEYS_ONLY", "INCLUDE"]


@dataclass(frozen=True)
class Key:
    name: str
    type: AttributeType = "S"


@dataclass(frozen=True)
class Index:
    """A global secondary index; `non_key_attributes` only with projection INCLUDE."""

    name: str
    partition: Key
    sort: Key | None = None
    projection: Projection = "ALL"
    non_key_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    base_name: str
    partition: Key
    sort: Key | None = None
    indexes: tuple[Index, ...] = field(default_factory=tuple)
    # item attribute holding an epoch-seconds expiry, if the table uses TTL
    ttl_attribute: str | None = None

    def key_attributes(self) -> dict[str, AttributeType]:
        """Every attribute used in a key of the table or of an index, with its type."""
        keys = [self.partition, self.sort]
        for index in self.indexes:
            keys += [index.partition, index.sort]
        return {key.name: key.type for key in keys if key is not None}


# Samples, the runs a sample belongs to, and the files of a sample share one table: a sample's
# whole history is one Query on its partition, and one overloaded index answers "samples of a run"
# (gsi1pk = RUN#<run>) and "samples of a project" (gsi1pk = PROJECT#<project>).
METADATA = TableSpec(
    base_name="genomics-metadata",
    partition=Key("pk"),
    sort=Key("sk"),
    indexes=(Index("gsi1", Key("gsi1pk"), Key("gsi1sk")),),
)

# One item per job (a run, or a per-sample task such as validation or VCF processing). Indexes are
# sparse where the attribute is optional: run-level jobs carry no `sample`.
JOBS = TableSpec(
    base_name="processing-jobs",
    partition=Key("job_id"),
    indexes=(
        Index("by-status", Key("status"), Key("created_at")),
        Index("by-sample", Key("sample"), Key("created_at")),
        Index("by-run", Key("run_id"), Key("created_at")),
        Index("by-kind", Key("kind"), Key("created_at")),
    ),
)

# One item per (sample, run): the metrics, each check's verdict and the overall verdict.
# by-project's sort key starts with the verdict, so "failing QC in a project" is
# Query(project = p AND begins_with(verdict_key, "FAIL#")); by-run gives a run's QC sorted by sample.
QUALITY = TableSpec(
    base_name="quality-metrics",
    partition=Key("sample"),
    sort=Key("run_id"),
    indexes=(
        Index("by-project", Key("project"), Key("verdict_key")),
        Index("by-run", Key("run_id"), Key("sample")),
    ),
)

ALL_TABLES: tuple[TableSpec, ...] = (METADATA, JOBS, QUALITY)

# The audit trail of erasures (seqpipe.aws.audit), one item per erasure. Not a data-plane table: no
# workload role reaches it, and nothing may delete from it (infra/seqpipe_infra/data_stack.py).
ERASURE_AUDIT = TableSpec(base_name="erasure-audit", partition=Key("erasure_id"))


def create_table_kwargs(spec: TableSpec, table_name: str | None = None) -> dict[str, Any]:
    """boto3 `create_table` arguments for a spec (on-demand billing, like the deployed tables)."""

    def key_schema(partition: Key, sort: Key | None) -> list[dict[str, str]]:
        schema = [{"AttributeName": partition.name, "KeyType": "HASH"}]
        if sort is not None:
            schema.append({"AttributeName": sort.name, "KeyType": "RANGE"})
        return schema

    def projection(index: Index) -> dict[str, Any]:
        result: dict[str, Any] = {"ProjectionType": index.projection}
        if index.projection == "INCLUDE":
            result["NonKeyAttributes"] = list(index.non_key_attributes)
        return result

    kwargs: dict[str, Any] = {
        "TableName": table_name or spec.base_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": type_} for name, type_ in spec.key_attributes().items()
        ],
        "KeySchema": key_schema(spec.partition, spec.sort),
    }
    if spec.indexes:
        kwargs["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": key_schema(index.partition, index.sort),
                "Projection": projection(index),
            }
            for index in spec.indexes
        ]
    return kwargs


def create_tables(dynamodb_client: Any, names: dict[str, str] | None = None) -> None:
    """Create all tables, the audit table too (local endpoint, tests, benchmarks); `names` maps base
    name → deployed name."""
    names = names or {}
    for spec in (*ALL_TABLES, ERASURE_AUDIT):
        dynamodb_client.create_table(**create_table_kwargs(spec, names.get(spec.base_name)))
