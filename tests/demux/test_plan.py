"""What the plan derives per lane: read structure, barcodes as the instrument read them."""

from __future__ import annotations

from pathlib import Path

from seqpipe.demux.plan import load_plan
from seqpipe.demux.readstructure import picard_read_structure
from seqpipe.demux.runinfo import parse_run_info


def test_read_structure_masks_unused_index_cycles(viralngs: Path) -> None:
    miseq = parse_run_info(viralngs / "RunInfo-miseq.xml")  # 101 + 8 + 8 + 101
    assert picard_read_structure(miseq, "", [8, 8]) == "101T8B8B101T"
    assert picard_read_structure(miseq, "", [6, 0]) == "101T6B2S8S101T"
    assert picard_read_structure(miseq, "U5Y96;I8;N8;Y101", [8, 0]) == "5M96T8B8S101T"


def test_miseq_sheet_with_trailing_ns_uses_nine_barcode_cycles(shared_testdata: Path) -> None:
    run = shared_testdata / "bcl-miseq-illumina2bam/140624_MS6_13349_A_MS2639979-300V2"
    plan = load_plan({"run_folder": str(run), "demux": {"trust_filter_cluster_count": True}})
    (lane,) = plan.lanes
    assert lane.read_structure == "75T9B3S8B75T"
    assert lane.barcodes[1] == ("10589430", "TAGGGTTAA", "CGATGTTT")
