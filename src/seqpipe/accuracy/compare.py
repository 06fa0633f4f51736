"""Matching query calls to truth: exact alleles first, then a local haplotype-equivalence rescue."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from seqpipe.accuracy.calls import Call

RESCUE_WINDOW = 10
# Clusters with more heterozygous calls than this are not enumerated (2^n haplotype assignments).
MAX_HET_IN_CLUSTER = 8

FetchRef = Callable[[str, int, int], str]  # chrom, 1-based start, 1-based inclusive end


@dataclass(frozen=True)
class Outcome:
    """A truth or query call and what became of it: matched (allele) and genotype-matched (zygosity)."""

    call: Call
    matched: bool
    genotype_matched: bool


@dataclass(frozen=True)
class Matching:
    truth: list[Outcome]
    query: list[Outcome]
    rescued_clusters: int


def _apply(ref_window: str, start: int, calls: Iterable[Call]) -> str | None:
    """The window with `calls` applied (None if two of them overlap and cannot both be on one haplotype)."""
    parts, cursor = [], start
    for c in sorted(calls, key=lambda c: c.pos):
        if c.pos < cursor:
            return None
        parts += [ref_window[cursor - start : c.pos - start], c.alt]
        cursor = c.pos + len(c.ref)
    parts.append(ref_window[cursor - start :])
    return "".join(parts)


def _diploid_sequences(ref_window: str, start: int, calls: list[Call]) -> set[tuple[str, str]] | None:
    """Every unordered pair of haplotype sequences the genotypes allow (phase ignored)."""
    hom = [c for c in calls if not c.het]
    het = [c for c in calls if c.het]
    if len(het) > MAX_HET_IN_CLUSTER:
        return None
    pairs = set()
    for sides in itertools.product((0, 1), repeat=len(het)):
        haps = [
            _apply(ref_window, start, hom + [c for c, s in zip(het, sides, strict=True) if s == h])
            for h in (0, 1)
        ]
        if haps[0] is not None and haps[1] is not None:
            pairs.add((min(haps[0], haps[1]), max(haps[0], haps[1])))
    return pairs


def _clusters(truth: list[Call], query: list[Call]) -> list[tuple[list[Call], list[Call]]]:
    """Unmatched calls of both sets grouped where they lie within RESCUE_WINDOW bp of each other."""
    tagged = sorted([(c, 0) for c in truth] + [(c, 1) for c in query], key=lambda x: (x[0].chrom, x[0].pos))
    clusters: list[tuple[list[Call], list[Call]]] = []
    chrom, reach = None, -1
    for call, side in tagged:
        if call.chrom != chrom or call.pos > reach + RESCUE_WINDOW:
            clusters.append(([], []))
            chrom, reach = call.chrom, call.end
        reach = max(reach, call.end)
        clusters[-1][side].append(call)
    return [c for c in clusters if c[0] and c[1]]


def match(truth: list[Call], query: list[Call], fetch_ref: FetchRef) -> Matching:
    truth_by_key = {c.key: c for c in truth}
    query_het = {c.key: c.het for c in query}
    # id(call) -> (allele matched, zygosity matched); calls absent here are FN (truth) or FP (query).
    found: dict[int, tuple[bool, bool]] = {}
    for t in truth_by_key.values():
        if t.key in query_het:
            found[id(t)] = (True, t.het == query_het[t.key])
    for q in query:
        t = truth_by_key.get(q.key)
        if t is not None:
            found[id(q)] = (True, t.het == q.het)

    rescued = 0
    left_truth = [c for c in truth_by_key.values() if id(c) not in found]
    left_query = [c for c in query if id(c) not in found]
    for t_calls, q_calls in _clusters(left_truth, left_query):
        start = min(c.pos for c in t_calls + q_calls)
        end = max(c.end for c in t_calls + q_calls)
        window = fetch_ref(t_calls[0].chrom, start, end)
        t_seq = _apply(window, start, t_calls)
        if t_seq is None or t_seq != _apply(window, start, q_calls):
            continue
        rescued += 1
        t_pairs = _diploid_sequences(window, start, t_calls)
        q_pairs = _diploid_sequences(window, start, q_calls)
        genotype_ok = bool(t_pairs and q_pairs and t_pairs & q_pairs)
        for c in t_calls + q_calls:
            found[id(c)] = (True, genotype_ok)

    def outcomes(calls: Iterable[Call]) -> list[Outcome]:
        return [Outcome(c, *found.get(id(c), (False, False))) for c in calls]

    return Matching(outcomes(truth_by_key.values()), outcomes(query), rescued)
