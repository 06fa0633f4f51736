"""The comparator on hand-made cases whose counts are known."""

from __future__ import annotations

import pytest

from seqpipe.accuracy import evaluate, strata_in_dir


def _snv(ref_seq: str, pos: int, gt: str = "0|1", *rest) -> tuple:
    ref = ref_seq[pos - 1]
    return (pos, ref, {"A": "G", "G": "A", "C": "T", "T": "C"}[ref], gt, *rest)


def _deletion(ref_seq: str, pos: int, length: int, gt: str = "0|1") -> tuple:
    return (pos, ref_seq[pos - 1 : pos + length], ref_seq[pos - 1], gt)


def _left_aligned_site(ref_seq: str, start: int) -> int:
    """A 1-based position p >= start where a 1 bp deletion of base p+1 cannot slide (p and p+1 differ)."""
    p = start
    while ref_seq[p - 1] == ref_seq[p] or ref_seq[p] == ref_seq[p + 1]:
        p += 1
    return p


def _counts(result, stratum="all", kind="SNV"):
    s = result.metrics[stratum][kind]
    return s.tp, s.fp, s.fn


def test_identical_vcfs_score_perfectly(reference, ref_seq, write_vcf):
    records = [
        _snv(ref_seq, 100),
        _snv(ref_seq, 300, "1|1"),
        _deletion(ref_seq, _left_aligned_site(ref_seq, 600), 1),
    ]
    vcf = write_vcf("same", records)
    result = evaluate(vcf, vcf, reference)
    assert _counts(result) == (2, 0, 0) and _counts(result, kind="indel") == (1, 0, 0)
    for kind in ("SNV", "indel"):
        s = result.metrics["all"][kind]
        assert (s.precision, s.recall, s.f1, s.f1_gt) == (1.0, 1.0, 1.0, 1.0)


def test_extra_call_is_a_false_positive_and_a_missing_one_a_false_negative(reference, ref_seq, write_vcf):
    truth = write_vcf("truth", [_snv(ref_seq, p) for p in (100, 200, 300)])
    query = write_vcf("query", [_snv(ref_seq, p) for p in (100, 200, 400)])
    s = evaluate(truth, query, reference).metrics["all"]["SNV"]
    assert (s.tp, s.fp, s.fn) == (2, 1, 1)
    assert (
        s.precision == pytest.approx(2 / 3)
        and s.recall == pytest.approx(2 / 3)
        and s.f1 == pytest.approx(2 / 3)
    )


def test_zygosity_mismatch_lowers_only_the_genotype_aware_f1(reference, ref_seq, write_vcf):
    truth = write_vcf("truth", [_snv(ref_seq, 100, "0|1"), _snv(ref_seq, 200, "1|1")])
    query = write_vcf("query", [_snv(ref_seq, 100, "1/1"), _snv(ref_seq, 200, "1/1")])
    s = evaluate(truth, query, reference).metrics["all"]["SNV"]
    assert (s.tp, s.fp, s.fn, s.f1) == (2, 0, 0, 1.0)
    assert (s.tp_gt, s.precision_gt, s.recall_gt, s.f1_gt) == (1, 0.5, 0.5, 0.5)


def test_indel_placed_elsewhere_in_a_repeat_matches_after_normalization(reference, ref_seq, write_vcf):
    run = next(
        i for i in range(200, 2500) if ref_seq[i] == ref_seq[i + 1] == ref_seq[i + 2] != ref_seq[i - 1]
    )
    # 1-based: the homopolymer starts at run+1; delete one of its bases, anchored left vs right.
    left = (run, ref_seq[run - 1 : run + 1], ref_seq[run - 1], "0|1")
    right = (run + 2, ref_seq[run + 1 : run + 3], ref_seq[run + 1], "0/1")
    result = evaluate(write_vcf("truth", [left]), write_vcf("query", [right]), reference)
    assert _counts(result, kind="indel") == (1, 0, 0)
    assert result.rescued_clusters == 0


def test_equivalent_haplotype_written_differently_is_rescued(reference, ref_seq, write_vcf):
    # Truth: delete base a, then change b to a; query: delete b. Both leave x·a on the haplotype.
    x = _left_aligned_site(ref_seq, 1000)
    a, b = ref_seq[x], ref_seq[x + 1]
    truth = write_vcf("truth", [(x, ref_seq[x - 1] + a, ref_seq[x - 1], "1|1"), (x + 2, b, a, "1|1")])
    query = write_vcf("query", [(x + 1, a + b, a, "1/1")])
    result = evaluate(truth, query, reference)
    assert result.rescued_clusters == 1
    assert _counts(result, kind="indel") == (1, 0, 0) and _counts(result, kind="SNV") == (1, 0, 0)
    assert result.metrics["all"]["indel"].f1_gt == 1.0

    het_query = write_vcf("het_query", [(x + 1, a + b, a, "0/1")])
    het = evaluate(truth, het_query, reference).metrics["all"]["indel"]
    assert (het.f1, het.f1_gt) == (1.0, 0.0)


def test_different_haplotypes_nearby_are_not_rescued(reference, ref_seq, write_vcf):
    truth = write_vcf("truth", [_snv(ref_seq, 1500)])
    query = write_vcf("query", [_snv(ref_seq, 1503)])
    result = evaluate(truth, query, reference)
    assert result.rescued_clusters == 0 and _counts(result) == (0, 1, 1)


def test_mnp_in_the_query_is_split_into_snvs(reference, ref_seq, write_vcf):
    truth_records = [_snv(ref_seq, 700, "1|1"), _snv(ref_seq, 701, "1|1")]
    truth = write_vcf("truth", truth_records)
    mnp = (700, ref_seq[699:701], truth_records[0][2] + truth_records[1][2], "1/1")
    result = evaluate(truth, write_vcf("query", [mnp]), reference)
    assert _counts(result) == (2, 0, 0) and result.metrics["all"]["SNV"].f1_gt == 1.0


def test_reference_calls_are_ignored_and_multiallelic_calls_split(reference, ref_seq, write_vcf):
    truth = write_vcf("truth", [_snv(ref_seq, 100, "0|1")])
    ref100 = ref_seq[99]
    other_alts = [base for base in "ACGT" if base != ref100]
    true_alt = _snv(ref_seq, 100)[2]
    wrong_alt = next(base for base in other_alts if base != true_alt)
    # freebayes writes 0/0 records for sites it looked at; they are not calls.
    query = write_vcf("query", [(100, ref100, f"{true_alt},{wrong_alt}", "1/2"), _snv(ref_seq, 900, "0/0")])
    s = evaluate(truth, query, reference).metrics["all"]["SNV"]
    assert (s.tp, s.fp, s.fn, s.tp_gt) == (1, 1, 0, 1)


def test_min_qual_and_pass_only_drop_query_calls(reference, ref_seq, write_vcf):
    truth = write_vcf("truth", [_snv(ref_seq, 100)])
    query = write_vcf(
        "query", [_snv(ref_seq, 100), _snv(ref_seq, 500, "0/1", 5), _snv(ref_seq, 800, "0/1", 60, "LowQual")]
    )
    assert _counts(evaluate(truth, query, reference)) == (1, 2, 0)
    assert _counts(evaluate(truth, query, reference, min_qual=20)) == (1, 1, 0)
    assert _counts(evaluate(truth, query, reference, min_qual=20, pass_only=True)) == (1, 0, 0)


def test_strata_take_variants_within_five_bp_and_other_takes_the_rest(
    reference, ref_seq, write_vcf, tmp_path
):
    truth = write_vcf("truth", [_snv(ref_seq, p) for p in (100, 206, 300, 500)])
    query = write_vcf("query", [_snv(ref_seq, p) for p in (100, 206, 400)])
    strata = tmp_path / "strata"
    strata.mkdir()
    # BED is 0-based half-open: [90, 200) holds position 100; 206 is 6 bp past its end, beyond the padding.
    (strata / "near.bed").write_text("chrA\t90\t200\n")
    (strata / "far.bed").write_text("track name=far\nchrA\t395\t405\nchrA\t504\t600\n")
    result = evaluate(truth, query, reference, strata=strata_in_dir(strata))
    assert _counts(result, "near") == (1, 0, 0)
    assert _counts(result, "far") == (0, 1, 1)  # the FP at 400 and the FN at 500 (padded)
    assert _counts(result, "other") == (1, 0, 1)  # 206 found, 300 missed
    assert _counts(result, "all") == (2, 1, 2)
    assert result.metrics["near"]["indel"].f1 is None  # nothing of that type there
