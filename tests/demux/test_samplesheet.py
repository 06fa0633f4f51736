"""Sample sheets as labs write them, and validation messages that name the line and the field."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from seqpipe.demux.errors import DemuxError
from seqpipe.demux.runinfo import parse_run_info
from seqpipe.demux.samplesheet import parse_sample_sheet
from seqpipe.demux.validate import hamming, validate_sheet


@pytest.fixture
def miseq(viralngs: Path):
    return parse_run_info(viralngs / "RunInfo-miseq.xml")  # 101 + 8 + 8 + 101 cycles, one lane


def _messages(sheet, run_info, mismatches: int = 1) -> list[str]:
    return [str(p) for p in validate_sheet(sheet, run_info, mismatches)]


def test_iem_sheet_with_crlf_and_padding_parses(viralngs: Path, miseq) -> None:
    sheet = parse_sample_sheet(viralngs / "SampleSheet-AEHWY-subset.csv")
    assert sheet.version == 1
    assert [(s.sample_id, s.index, s.index2, s.line) for s in sheet.samples] == [
        ("16", "AAGAGGCA", "GCGTAAGA", 20),
        ("17", "GTAGAGGA", "GCGTAAGA", 21),
        ("MAK_AD", "TAAGGCGA", "CTCTCTAT", 22),
    ]
    assert sheet.settings["Adapter"] == "CTGTCTCTTATACACATCT"
    assert _messages(sheet, miseq) == []


@pytest.mark.parametrize(
    "name",
    [
        "SampleSheet-custom-1.txt",
        "SampleSheet-custom-1_win-endings.txt",
        "SampleSheet-custom-1_macos9-endings.txt",
        "SampleSheet-custom-1_win-endings.txt.gz",
    ],
)
def test_barcode_table_parses_with_any_line_ending_and_gzip(viralngs: Path, miseq, name: str) -> None:
    sheet = parse_sample_sheet(viralngs / name)
    assert sheet.version == 0
    assert len(sheet.samples) == 24
    assert (sheet.samples[0].sample_id, sheet.samples[0].index, sheet.samples[0].index2) == (
        "NIHCC_05",
        "CGTACTAG",
        "TAGATCGC",
    )
    assert _messages(sheet, miseq) == []


def test_blank_lines_are_skipped(viralngs: Path, miseq) -> None:
    sheet = parse_sample_sheet(viralngs / "SampleSheet-with-blanklines.csv")
    assert len(sheet.samples) == 12
    assert all(s.sample_id for s in sheet.samples)


def test_hiseq_bcl2fastq18_sheet_keeps_lanes(viralngs: Path) -> None:
    sheet = parse_sample_sheet(viralngs / "SampleSheet-hiseq-1.csv")
    run = parse_run_info(viralngs / "RunInfo-hiseq.xml")  # 2 lanes
    assert {s.lane for s in sheet.samples} == {1, 2}
    assert _messages(sheet, run) == []  # the same sample in two lanes is not a duplicate


def test_sheet_lanes_beyond_runinfo_are_reported(viralngs: Path, miseq) -> None:
    sheet = parse_sample_sheet(viralngs / "SampleSheet-hiseq-1.csv")
    messages = _messages(sheet, miseq)
    assert any("line 3, field Lane: lane 2 but RunInfo.xml has 1 lane(s)" in m for m in messages)


def test_difficult_names_are_rejected_with_line_and_field(viralngs: Path, miseq) -> None:
    sheet = parse_sample_sheet(viralngs / "SampleSheet-difficult-names.csv")
    messages = _messages(sheet, miseq)
    assert len(sheet.samples) == 20
    assert all("field Sample_ID" in m for m in messages[:20])
    assert "line 21, field Sample_ID" in messages[0]
    assert "only letters, digits, '-' and '_'" in messages[0]


def test_inline_commas_shift_fields_and_are_caught(viralngs: Path, miseq) -> None:
    sheet = parse_sample_sheet(viralngs / "SampleSheet-inline-commas-strings.csv")
    messages = _messages(sheet, miseq)
    assert any("line 22, field Sample_ID" in m for m in messages)
    # The backslash-escaped quote moves the I7 ID into the index column: caught as a bad index.
    assert any("line 22, field index: 'N705': only A, C, G, T and N" in m for m in messages)


def test_miseq_sheet_dots_in_sample_ids_are_illegal(viralngs: Path, miseq) -> None:
    messages = _messages(parse_sample_sheet(viralngs / "SampleSheet-miseq-1.csv"), miseq)
    assert messages[0].endswith(
        "line 21, field Sample_ID: 'mebv.0.6': only letters, digits, '-' and '_' "
        "(BCL Convert's rule; names become file names)"
    )


def _write(tmp_path: Path, body: str, name: str = "SampleSheet.csv") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


V2_HEADER = """[Header]
FileFormatVersion,2
RunName,test

[Reads]
Read1Cycles,101
Read2Cycles,101
Index1Cycles,8
Index2Cycles,8

[BCLConvert_Settings]
OverrideCycles,{override}

[BCLConvert_Data]
Lane,Sample_ID,Index,Index2
"""


def test_bcl_convert_v2_sheet_parses_and_validates(tmp_path: Path, miseq) -> None:
    path = _write(
        tmp_path,
        V2_HEADER.format(override="Y101;I8;I8;Y101") + "1,A,ACGTACGT,TTGGCCAA\n1,B,TGCATGCA,AACCGGTT\n",
    )
    sheet = parse_sample_sheet(path)
    assert sheet.version == 2
    assert sheet.override_cycles == "Y101;I8;I8;Y101"
    assert [s.line for s in sheet.samples] == [16, 17]
    assert _messages(sheet, miseq) == []


def test_override_cycles_must_match_runinfo(tmp_path: Path, miseq) -> None:
    path = _write(tmp_path, V2_HEADER.format(override="Y101;I8;I10;Y100") + "1,A,ACGTACGT,TTGGCCAA\n")
    messages = _messages(parse_sample_sheet(path), miseq)
    where = f"{path}, field OverrideCycles (settings): OverrideCycles"
    assert messages == [
        f"{where} read 3 covers 10 cycles but RunInfo.xml has 8",
        f"{where} read 4 covers 100 cycles but RunInfo.xml has 101",
    ]


def test_override_cycles_with_wrong_read_count(tmp_path: Path, miseq) -> None:
    path = _write(tmp_path, V2_HEADER.format(override="Y101;I8;Y101") + "1,A,ACGTACGT,TTGGCCAA\n")
    (message,) = _messages(parse_sample_sheet(path), miseq)
    assert "'Y101;I8;Y101' has 3 reads but RunInfo.xml has 4" in message


def test_index_longer_than_index_cycles_names_line_and_field(tmp_path: Path, miseq) -> None:
    path = _write(tmp_path, "[Data]\nSample_ID,index,index2\nA,ACGTACGTAC,TTGGCCAA\nB,TGCATGCATG,AACCGGTT\n")
    messages = _messages(parse_sample_sheet(path), miseq)
    assert messages[0] == (
        f"{path}, line 3, field index: index of 10 bases but the run has 8 index cycles for it "
        "(RunInfo-miseq.xml)"
    )


def test_override_cycles_shorten_the_index_read(tmp_path: Path, miseq) -> None:
    path = _write(tmp_path, V2_HEADER.format(override="Y101;I6N2;I8;Y101") + "1,A,ACGTACGT,TTGGCCAA\n")
    (message,) = _messages(parse_sample_sheet(path), miseq)
    assert "line 16, field Index: index of 8 bases but the run has 6 index cycles for it" in message
    assert "OverrideCycles" in message


def test_duplicate_sample_ids_name_both_lines(tmp_path: Path, miseq) -> None:
    path = _write(tmp_path, "[Data]\nSample_ID,index,index2\nA,ACGTACGT,TTGGCCAA\nA,TGCATGCA,AACCGGTT\n")
    (message,) = _messages(parse_sample_sheet(path), miseq)
    assert message == f"{path}, line 4, field Sample_ID: duplicate sample ID 'A' (also on line 3)"


def test_index_collision_names_both_samples_lane_and_distance(tmp_path: Path, miseq) -> None:
    path = _write(
        tmp_path,
        "[Data]\nLane,Sample_ID,index,index2\n1,S_one,ACGTACGT,TTGGCCAA\n1,S_two,ACGTACGA,TTGGCCAT\n",
    )
    sheet = parse_sample_sheet(path)
    (message,) = _messages(sheet, miseq, mismatches=1)
    assert message == (
        f"{path}, line 4, field index/index2: index collision in lane 1: samples 'S_one' (line 3) and "
        "'S_two' (line 4) have barcodes ACGTACGTTTGGCCAA and ACGTACGATTGGCCAT at Hamming distance 2; "
        "with barcode_mismatches=1 they need a distance of at least 3"
    )
    assert _messages(sheet, miseq, mismatches=0) == []


def test_samples_in_different_lanes_do_not_collide(tmp_path: Path, viralngs: Path) -> None:
    path = _write(tmp_path, "[Data]\nLane,Sample_ID,index\n1,A,ACGTACGT\n2,B,ACGTACGT\n")
    assert _messages(parse_sample_sheet(path), parse_run_info(viralngs / "RunInfo-hiseq.xml")) == []


def test_mixed_index_lengths_in_a_lane_are_reported(tmp_path: Path, miseq) -> None:
    path = _write(tmp_path, "[Data]\nSample_ID,index\nA,ACGTACGT\nB,TGCATG\n")
    messages = _messages(parse_sample_sheet(path), miseq)
    assert any("lane 1: index lengths differ within the lane: 6 bases (B, line 4), 8 bases (A, line 3)" in m
               for m in messages)  # fmt: skip


def test_reserved_and_schema_problems(tmp_path: Path, miseq) -> None:
    path = _write(tmp_path, "[Data]\nSample_ID,index,Lane\nUndetermined,ACGTACGT,1\nB b,acgtxcgt,one\n")
    messages = _messages(parse_sample_sheet(path), miseq)
    assert f"{path}, line 3, field Sample_ID: 'Undetermined' is reserved for unmatched reads" in messages
    assert f"{path}, line 4, field index: 'ACGTXCGT': only A, C, G, T and N" in messages
    assert f"{path}, line 4, field Lane: 'one': a lane number (1, 2, ...)" in messages


def test_a_sample_named_like_an_output_folder_is_refused(tmp_path: Path, miseq) -> None:
    path = _write(tmp_path, "[Data]\nSample_ID,index,Lane\nqc,ACGTACGT,1\nS1,TTTTCCCC,1\n")
    messages = _messages(parse_sample_sheet(path), miseq)
    assert [m for m in messages if "'qc'" in m] == [
        f"{path}, line 3, field Sample_ID: 'qc': reserved: a folder name of the pipeline's outputs"
    ]


def test_sheet_without_data_section_or_sample_column(tmp_path: Path) -> None:
    with pytest.raises(DemuxError, match=r"no \[Data\] or \[BCLConvert_Data\] section"):
        parse_sample_sheet(_write(tmp_path, "[Header]\nIEMFileVersion,4\n"))
    with pytest.raises(DemuxError, match=r"line 1: no sample column in the table header"):
        parse_sample_sheet(_write(tmp_path, "name,barcode\nA,ACGT\n"))
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(b"[Data]\nSample_ID\nA\n")[:-10])
    with pytest.raises(DemuxError, match="gzip-compressed but unreadable"):
        parse_sample_sheet(broken)


def test_hamming_treats_n_as_wildcard() -> None:
    assert hamming("ACGT", "ACGA") == 1
    assert hamming("ACGN", "ACGA") == 0
    assert hamming("TAGGGTTAA", "TAGGGTTAACGAT") == 0
