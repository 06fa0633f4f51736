"""GATK's documented germline hard filters, set in FILTER (soft: records are kept) on the GATK calls.

The thresholds are those of the GATK article "Hard-filtering germline short variants"
(https://gatk.broadinstitute.org/hc/en-us/articles/360035890471), with its filter names: SNVs QD < 2.0,
QUAL < 30.0, SOR > 3.0, FS > 60.0, MQ < 40.0, MQRankSum < -12.5, ReadPosRankSum < -8.0; indels QD < 2.0,
QUAL < 30.0, FS > 200.0, ReadPosRankSum < -20.0. As in GATK's VariantFiltration, a record without the
annotation (e.g. no rank sums at a homozygous site) is not filtered by it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

SNV, INDEL = "snp", "indel"  # bcftools' TYPE names; records are biallelic here (norm -m-)
KINDS = {SNV: "SNVs", INDEL: "indels"}


@dataclass(frozen=True)
class HardFilter:
    name: str
    annotation: str  # an INFO field, or QUAL
    operator: str  # "<" or ">": the record is filtered when its value compares so with the threshold
    threshold: float
    types: tuple[str, ...]

    @property
    def condition(self) -> str:
        return f"{self.annotation} {self.operator} {self.threshold}"

    def expression(self) -> str:
        """The bcftools filter -e expression."""
        field = self.annotation if self.annotation == "QUAL" else f"INFO/{self.annotation}"
        value = f"{field}{self.operator}{self.threshold}"
        if len(self.types) == len(KINDS):
            return value
        return f'TYPE="{self.types[0]}" && {value}'

    def header_line(self) -> str:
        kinds = " and ".join(KINDS[t] for t in self.types)
        description = f"{kinds}: {self.condition} (GATK germline hard filter)"
        return f'##FILTER=<ID={self.name},Description="{description}">'


GERMLINE_HARD_FILTERS = (
    HardFilter("QD2", "QD", "<", 2.0, (SNV, INDEL)),
    HardFilter("QUAL30", "QUAL", "<", 30.0, (SNV, INDEL)),
    HardFilter("SOR3", "SOR", ">", 3.0, (SNV,)),
    HardFilter("FS60", "FS", ">", 60.0, (SNV,)),
    HardFilter("MQ40", "MQ", "<", 40.0, (SNV,)),
    HardFilter("MQRankSum-12.5", "MQRankSum", "<", -12.5, (SNV,)),
    HardFilter("ReadPosRankSum-8", "ReadPosRankSum", "<", -8.0, (SNV,)),
    HardFilter("FS200", "FS", ">", 200.0, (INDEL,)),
    HardFilter("ReadPosRankSum-20", "ReadPosRankSum", "<", -20.0, (INDEL,)),
)

CALLERS_FILTERED = ("gatk",)


def caller_filters(caller: str) -> str:
    """Shell pipeline stages (each ending in ' | ') that set `caller`'s hard filters on a BCF stream, with
    their FILTER header lines; nothing for a caller without hard filters. Bash: the header lines go in
    through a process substitution."""
    if caller not in CALLERS_FILTERED:
        return ""
    header = " ".join(shlex.quote(f.header_line()) for f in GERMLINE_HARD_FILTERS)
    stages = [f"bcftools annotate --no-version -h <(printf '%s\\n' {header}) -Ou"]
    stages += [
        f"bcftools filter --no-version -m+ -s {shlex.quote(f.name)} -e {shlex.quote(f.expression())} -Ou"
        for f in GERMLINE_HARD_FILTERS
    ]
    return "".join(f"{stage} | " for stage in stages)
