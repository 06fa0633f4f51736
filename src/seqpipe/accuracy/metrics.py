"""Counts and scores per variant type and stratum."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seqpipe.accuracy.calls import AccuracyInputError, Call
from seqpipe.accuracy.compare import Matching, Outcome
from seqpipe.simulate.intervals import IntervalIndex

STRATUM_PADDING = 5
TYPES = ("SNV", "indel")


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None and recall is None:
        return None
    # With one side undefined the other is 0 (calls but no truth, or truth but no calls).
    if precision is None or recall is None or precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class Scores:
    tp: int  # truth calls matched (TP of the truth side)
    tp_call: int  # query calls matched; differs from tp only when a rescue pairs unequal counts
    fp: int
    fn: int
    tp_gt: int  # truth calls matched with the right zygosity
    tp_call_gt: int

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp_call, self.tp_call + self.fp)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        return _f1(self.precision, self.recall)

    @property
    def precision_gt(self) -> float | None:
        # A zygosity mismatch counts as a false positive and a false negative.
        return _ratio(self.tp_call_gt, self.tp_call + self.fp)

    @property
    def recall_gt(self) -> float | None:
        return _ratio(self.tp_gt, self.tp + self.fn)

    @property
    def f1_gt(self) -> float | None:
        return _f1(self.precision_gt, self.recall_gt)

    def as_dict(self) -> dict[str, int | float | None]:
        fields = ("tp", "tp_call", "fp", "fn", "tp_gt", "tp_call_gt", "precision", "recall", "f1")
        return {f: getattr(self, f) for f in (*fields, "precision_gt", "recall_gt", "f1_gt")}


def scores(truth: list[Outcome], query: list[Outcome]) -> Scores:
    return Scores(
        tp=sum(o.matched for o in truth),
        tp_call=sum(o.matched for o in query),
        fp=sum(not o.matched for o in query),
        fn=sum(not o.matched for o in truth),
        tp_gt=sum(o.genotype_matched for o in truth),
        tp_call_gt=sum(o.genotype_matched for o in query),
    )


def read_stratum(name: str, path: Path) -> IntervalIndex:
    """A BED file padded by STRATUM_PADDING bp on each side."""
    if not path.is_file():
        raise AccuracyInputError(f"stratum '{name}': BED file not found: {path}")
    intervals = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t")
        try:
            chrom, start, end = fields[0], int(fields[1]), int(fields[2])
        except (IndexError, ValueError):
            raise AccuracyInputError(
                f"{path} line {number}: expected 'chrom<TAB>start<TAB>end', got {line!r}"
            ) from None
        if start < 0 or end < start:
            raise AccuracyInputError(f"{path} line {number}: bad interval {start}-{end}")
        intervals.append((chrom, max(0, start - STRATUM_PADDING), end + STRATUM_PADDING))
    return IntervalIndex(intervals)


def _inside(call: Call, stratum: IntervalIndex) -> bool:
    return stratum.overlaps(call.chrom, call.pos - 1, call.end)


def stratified(matching: Matching, strata: dict[str, IntervalIndex]) -> dict[str, dict[str, Scores]]:
    """Scores per stratum ("all", each BED, "other" = in none of them) and type."""

    def where(keep: Callable[[Call], bool]) -> tuple[list[Outcome], list[Outcome]]:
        return [o for o in matching.truth if keep(o.call)], [o for o in matching.query if keep(o.call)]

    groups = {"all": where(lambda c: True)}
    for name, index in strata.items():
        groups[name] = where(lambda c, index=index: _inside(c, index))
    if strata:
        groups["other"] = where(lambda c: not any(_inside(c, index) for index in strata.values()))
    return {
        name: {
            kind: scores([o for o in t if o.call.kind == kind], [o for o in q if o.call.kind == kind])
            for kind in TYPES
        }
        for name, (t, q) in groups.items()
    }
