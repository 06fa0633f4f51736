"""Per-sample QC of a run from MultiQC's general stats and bcftools stats, with PASS/FAIL verdicts.

Metric names and the verdict logic are the pipeline's (seqpipe.qc_thresholds), so a sample gets the
same verdict in qc/qc_summary.tsv, in DynamoDB and in the dashboard.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict
from typing import Any

import yaml

from seqpipe.aws.repositories import QualityRepository
from seqpipe.qc_thresholds import FAIL, PASS, evaluate, sample_passes
from seqpipe.storage.s3 import S3Uri, client, list_keys

GENERAL_STATS = "qc/multiqc_data/multiqc_general_stats.txt"
BCFTOOLS_STATS = re.compile(r"qc/bcftools/(?P<sample>[^/]+?)\.(?P<caller>[^./]+)\.stats$")

# MultiQC general-stats column suffixes (after "<module>-") → the pipeline's metric names.
GENERAL_STATS_COLUMNS: dict[str, tuple[str, ...]] = {
    "mapped_pct": ("mapped_passed_pct", "reads_mapped_percent"),
    "mean_depth": ("mean_coverage",),
    "duplicate_pct": ("PERCENT_DUPLICATION", "percent_duplication", "reads_duplicated_percent"),
}


class QcInputError(Exception):
    """The run's QC files are missing or unreadable; the message names the file."""


def parse_general_stats(text: str, samples: list[str]) -> dict[str, dict[str, float]]:
    """Rows of MultiQC's TSV mapped to samples; a row named '<sample>.<anything>' counts for <sample>."""
    metrics: dict[str, dict[str, float]] = {s: {} for s in samples}
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    if not rows or rows[0][0] != "Sample":
        raise QcInputError(f"{GENERAL_STATS}: first column must be 'Sample'")
    header = rows[0]
    by_suffix = {column.rsplit("-", 1)[-1]: i for i, column in enumerate(header)}
    for row in rows[1:]:
        sample = _owner(row[0], samples)
        if sample is None:
            continue
        for metric, suffixes in GENERAL_STATS_COLUMNS.items():
            for suffix in suffixes:
                i = by_suffix.get(suffix)
                if i is not None and i < len(row) and row[i].strip() and metric not in metrics[sample]:
                    metrics[sample][metric] = float(row[i])
    return metrics


def _owner(name: str, samples: list[str]) -> str | None:
    matches = [s for s in samples if name == s or name.startswith(s + ".") or name.startswith(s + "_")]
    return max(matches, key=len) if matches else None


def parse_bcftools_stats(text: str) -> dict[str, float]:
    """Variant counts and Ts/Tv from the SN and TSTV sections."""
    values: dict[str, float] = {}
    names = {
        "number of SNPs:": "snps",
        "number of indels:": "indels",
        "number of records:": "variants",
        "number of MNPs:": "mnps",
        "number of multiallelic sites:": "multiallelic",
    }
    for line in text.splitlines():
        fields = line.split("\t")
        if fields[0] == "SN" and len(fields) >= 4 and fields[2] in names:
            values[names[fields[2]]] = float(fields[3])
        elif fields[0] == "TSTV" and len(fields) >= 5 and "tstv" not in values:
            values["tstv"] = float(fields[4])
    return values


def thresholds_from_config(config_uri: str | None) -> dict[str, dict[str, float]]:
    if not config_uri:
        return {}
    uri = S3Uri.parse(config_uri)
    text = client("s3").get_object(Bucket=uri.bucket, Key=uri.key)["Body"].read().decode()
    config = yaml.safe_load(text) or {}
    return (config.get("qc") or {}).get("thresholds") or {}


def _read(uri: S3Uri) -> str:
    try:
        return client("s3").get_object(Bucket=uri.bucket, Key=uri.key)["Body"].read().decode()
    except client("s3").exceptions.NoSuchKey:
        raise QcInputError(f"{uri} not found: the workflow did not produce MultiQC's general stats") from None


def collect_run(
    repo: QualityRepository,
    run_id: str,
    project: str,
    samples: list[str],
    output_uri: str,
    thresholds: dict[str, dict[str, float]],
) -> dict[str, Any]:
    """Write one QC item per sample of the run; returns the samples that passed and failed."""
    outdir = S3Uri.parse(output_uri)
    metrics = parse_general_stats(_read(outdir.join(GENERAL_STATS)), samples)
    for item in list_keys(outdir.join("qc/bcftools/")):
        match = BCFTOOLS_STATS.search(item["Key"])
        if match and match["sample"] in metrics:
            stats = parse_bcftools_stats(_read(S3Uri(outdir.bucket, item["Key"])))
            for name, value in stats.items():
                metrics[match["sample"]].setdefault(name, value)
                metrics[match["sample"]][f"{name}_{match['caller']}"] = value
    passed, failed = [], []
    for sample in samples:
        verdicts = evaluate(sample, metrics[sample], thresholds)
        verdict = PASS if sample_passes(verdicts) else FAIL
        repo.put(sample, run_id, project, metrics[sample], [asdict(v) for v in verdicts], verdict)
        (passed if verdict == PASS else failed).append(sample)
    return {"passed": passed, "failed": failed, "metrics": metrics}
