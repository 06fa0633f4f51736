"""Read the per-sample numbers the QC verdicts need from the tools' own report files."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path


def mapped_pct(flagstat: str | Path) -> float | None:
    """Primary mapped % from `samtools flagstat` (falls back to all-reads mapped % on older samtools)."""
    text = Path(flagstat).read_text()
    match = re.search(r"primary mapped \([\d.]+%", text) or re.search(r"\bmapped \(([\d.]+)%", text)
    if match is None:
        return None
    return float(re.search(r"\(([\d.]+)%", match.group(0)).group(1))


def mean_depth(mosdepth_summary: str | Path, row: str = "total") -> float | None:
    """Genome-wide mean depth: the 'total' row of mosdepth's summary (or another `row`)."""
    for line in Path(mosdepth_summary).read_text().splitlines()[1:]:
        fields = line.split("\t")
        if fields[0] == row:
            return float(fields[3])
    return None


def duplicate_pct(markdup_stats: str | Path) -> float | None:
    """Duplicate % of examined reads, from `samtools markdup -f` stats or Picard's metrics."""
    text = Path(markdup_stats).read_text()
    if "PERCENT_DUPLICATION" in text:
        lines = text.splitlines()
        header_at = next(i for i, line in enumerate(lines) if line.startswith("LIBRARY"))
        header, values = lines[header_at].split("\t"), lines[header_at + 1].split("\t")
        return 100 * float(values[header.index("PERCENT_DUPLICATION")])
    fields = dict(
        (key.strip(), value.strip())
        for key, value in (
            line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("COMMAND")
        )
    )
    examined = int(fields.get("EXAMINED", 0))
    if not examined:
        return None
    # samtools counts DUPLICATE PAIR in reads (two per pair), like DUPLICATE SINGLE
    duplicates = int(fields.get("DUPLICATE PAIR", 0)) + int(fields.get("DUPLICATE SINGLE", 0))
    return 100 * duplicates / examined


# `bcftools stats` SN lines → metric names; like Ts/Tv, reported per caller
VARIANT_COUNTS = {
    "number of records:": "variants",
    "number of SNPs:": "snps",
    "number of MNPs:": "mnps",
    "number of indels:": "indels",
    "number of multiallelic sites:": "multiallelic",
}


def variant_stats(bcftools_stats: str | Path) -> dict[str, float | None]:
    """Ts/Tv and variant counts of the first sample set in `bcftools stats` (TSTV and SN sections)."""
    values: dict[str, float | None] = {"tstv": None}
    for line in Path(bcftools_stats).read_text().splitlines():
        fields = line.split("\t")
        if fields[0] == "SN" and len(fields) >= 4 and fields[2] in VARIANT_COUNTS:
            values.setdefault(VARIANT_COUNTS[fields[2]], int(fields[3]))
        elif fields[0] == "TSTV" and len(fields) >= 5 and values["tstv"] is None:
            values["tstv"] = float(fields[4])
    return values


def is_variant_count(metric: str) -> bool:
    """snps, snps_<caller>, …: counts, which MultiQC's own bcftools section already shows."""
    return metric.split("_", 1)[0] in VARIANT_COUNTS.values()


def sample_metrics(
    flagstat: str | Path,
    mosdepth_summary: str | Path,
    markdup_stats: str | Path | None,
    bcftools_stats: dict[str, str | Path],
) -> dict[str, float | None]:
    """All metrics of one sample, to four decimals as every output shows them.

    Ts/Tv and the variant counts are reported per caller as <name>_<caller>, and as <name> for the
    first caller in the configuration's order.
    """
    metrics: dict[str, float | None] = {
        "mapped_pct": mapped_pct(flagstat),
        "mean_depth": mean_depth(mosdepth_summary),
        # no duplicate marking in amplicon mode
        "duplicate_pct": None if markdup_stats is None else duplicate_pct(markdup_stats),
    }
    for rank, (caller, path) in enumerate(bcftools_stats.items()):
        for name, value in variant_stats(path).items():
            metrics[f"{name}_{caller}"] = value
            if rank == 0:
                metrics[name] = value
    return {name: None if value is None else round(value, 4) for name, value in metrics.items()}


NO_READS = "fastp read no reads"


@dataclass(frozen=True)
class FastpCounts:
    """What fastp counted in one unit: reads (both mates) before filtering, those passing its filters,
    those each filter dropped, bases (all and >= Q30) before filtering and reads it trimmed adapters from."""

    reads: int
    passed: int
    dropped: dict[str, int]
    bases: int
    q30_bases: int
    adapter_trimmed: int

    @classmethod
    def read(cls, fastp_json: str | Path) -> FastpCounts:
        report = json.loads(Path(fastp_json).read_text())
        before = report["summary"]["before_filtering"]
        filtering = dict(report["filtering_result"])
        return cls(
            reads=before["total_reads"],
            passed=filtering.pop("passed_filter_reads"),
            dropped=filtering,
            bases=before["total_bases"],
            q30_bases=before["q30_bases"],
            # fastp leaves the section out when it trimmed no adapter
            adapter_trimmed=report.get("adapter_cutting", {}).get("adapter_trimmed_reads", 0),
        )

    def __add__(self, other: FastpCounts) -> FastpCounts:
        dropped = {f: self.dropped.get(f, 0) + other.dropped.get(f, 0) for f in self.dropped | other.dropped}
        return FastpCounts(
            self.reads + other.reads,
            self.passed + other.passed,
            dropped,
            self.bases + other.bases,
            self.q30_bases + other.q30_bases,
            self.adapter_trimmed + other.adapter_trimmed,
        )

    def metrics(self) -> dict[str, float | None]:
        """Read-level metrics, to four decimals; percentages of no reads are not measured."""

        def pct(part: int, whole: int) -> float | None:
            return round(100 * part / whole, 4) if whole else None

        return {
            "read_pairs": self.reads // 2,
            "pairs_passing_pct": pct(self.passed, self.reads),
            "q30_pct": pct(self.q30_bases, self.bases),
            "adapter_trimmed_pct": pct(self.adapter_trimmed, self.reads),
        }

    def no_value(self) -> dict[str, str]:
        """Why a read-level metric has no value: there were no reads."""
        return {name: NO_READS for name, value in self.metrics().items() if value is None}

    def dropped_by(self) -> str:
        """The filters that dropped reads, most first, e.g. 'too_many_N_reads 41 % of reads'."""
        shares = [(n, 100 * n_reads / self.reads) for n, n_reads in self.dropped.items() if n_reads]
        shares.sort(key=lambda share: -share[1])
        return ", ".join(f"{name} {_percent(share)} % of reads" for name, share in shares)


def _percent(share: float) -> str:
    return f"{share:.1f}".removesuffix(".0")
