"""The `demux:` config section, validated against settings.schema.yaml with its defaults filled in."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema
import yaml

from seqpipe.demux.errors import DemuxError


@dataclass(frozen=True)
class DemuxSettings:
    demultiplexer: str
    sample_sheet: str | None
    lanes: tuple[int, ...] | None
    barcode_mismatches: int
    index2_reverse_complement: str | bool
    trust_filter_cluster_count: bool
    wait_for_completion: bool
    wait_timeout_minutes: float
    wait_poll_seconds: float
    threads: int
    min_reads: int
    max_undetermined_percent: float
    min_percent_q30: float
    min_percent_pf: float
    min_density_k_mm2: float | None
    max_density_k_mm2: float | None
    max_index_hopping_percent: float
    extra: str


def _schema() -> dict[str, Any]:
    return yaml.safe_load(resources.files("seqpipe.demux").joinpath("settings.schema.yaml").read_text())


def demux_settings(config: dict[str, Any]) -> DemuxSettings:
    section = dict(config.get("demux") or {})
    schema = _schema()
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(section), key=lambda e: list(e.path))
    if errors:
        lines = "\n".join(
            f"  - demux.{'.'.join(map(str, e.path)) or '(section)'}: {e.message}" for e in errors
        )
        raise DemuxError(f"config section demux: is not valid:\n{lines}")
    values = {key: section.get(key, spec.get("default")) for key, spec in schema["properties"].items()}
    values["lanes"] = tuple(values["lanes"]) if values["lanes"] else None
    return DemuxSettings(**values)
