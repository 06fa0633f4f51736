"""The sample sheet's i5 read per instrument and chemistry, and a wrong orientation stopped before any job."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import numpy as np
import pytest

from seqpipe.demux.basecalls import filter_mask, tile_calls
from seqpipe.demux.errors import DemuxError
from seqpipe.demux.orientation import (
    FORWARD,
    REVERSE_COMPLEMENT,
    count_matches,
    identify_instrument,
    reverse_complement,
    sample_index_reads,
)
from seqpipe.demux.plan import load_plan
from seqpipe.demux.runinfo import RunParameters, parse_run_info, parse_run_parameters
from seqpipe.demux.validate import hamming
from seqpipe.simulate.bcl_run_folder import (
    I5_INDEXES,
    I7_INDEXES,
    Cluster,
    RunLayout,
    SheetSample,
    _sample_sheet,
    write_run_folder,
)

from .conftest import SimulatedRun

SAMPLES = [SheetSample(f"S{i + 1}", I7_INDEXES[i], I5_INDEXES[i]) for i in range(2)]


def _write_rc_reading_run(folder: Path) -> dict[str, int]:
    """One lane read like a NovaSeq X: Index2 holds the reverse complement of each sample's i5, and
    RunInfo marks that read IsReverseComplement. Returns the PF read pairs written per sample."""
    rng = random.Random(3)
    clusters = []
    for s in SAMPLES:
        for n in range(12):
            bases = "".join(rng.choice("ACGT") for _ in range(30))
            clusters.append(
                Cluster(f"{s.sample_id}_{n}", s.sample_id, bases, "I" * 30, bases[::-1], "I" * 30,
                        s.index1, reverse_complement(s.index2))
            )  # fmt: skip
    layout = RunLayout(run_id=folder.name, instrument="LH00118")
    write_run_folder(folder, {1: clusters}, SAMPLES, layout)
    info = folder / "RunInfo.xml"
    index2 = 'Number="3" NumCycles="8" IsIndexedRead="Y"'
    info.write_text(info.read_text().replace(index2, f'{index2} IsReverseComplement="Y"'))
    return {s.sample_id: 12 for s in SAMPLES}


def _v2_sheet(path: Path) -> None:
    rows = "".join(f"1,{s.sample_id},{s.index1},{s.index2}\n" for s in SAMPLES)
    path.write_text(
        "[Header]\nFileFormatVersion,2\nRunName,orientation\n\n[Reads]\nRead1Cycles,30\nRead2Cycles,30\n"
        "Index1Cycles,8\nIndex2Cycles,8\n\n[BCLConvert_Settings]\nSoftwareVersion,4.2.7\n\n"
        f"[BCLConvert_Data]\nLane,Sample_ID,Index,Index2\n{rows}"
    )


@pytest.fixture(scope="module")
def rc_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("orientation") / "260101_LH00118_0001_AFLOWCELLX"
    return folder, _write_rc_reading_run(folder)


def test_instrument_and_chemistry_decide_how_i5_is_read(viralngs: Path) -> None:
    expected = {
        "RunInfo-miseq.xml": ("MiSeq", FORWARD),
        "RunInfo-nextseq550.xml": ("NextSeq 500/550", REVERSE_COMPLEMENT),
        "RunInfo-nextseq-1000-2000-p1.xml": ("NextSeq 1000/2000", REVERSE_COMPLEMENT),
        "RunInfo-novaseq-x-plus.xml": ("NovaSeq X", REVERSE_COMPLEMENT),
    }
    for name, (model, i5_read) in expected.items():
        instrument = identify_instrument(parse_run_info(viralngs / name), None)
        assert (instrument.model, instrument.i5_read) == (model, i5_read), name
    novaseq = parse_run_info(viralngs / "RunInfo-novaseq.xml")
    v15, v10 = (RunParameters("NovaSeq Control Software", "1.7", "3.4.4", version) for version in (3, 1))
    assert identify_instrument(novaseq, v15).i5_read == REVERSE_COMPLEMENT
    assert identify_instrument(novaseq, v10).i5_read == FORWARD
    assert identify_instrument(novaseq, None).i5_read == ""  # reagents unknown: no claim


def test_novaseq_6000_reagent_version_is_read_from_run_parameters(tmp_path: Path) -> None:
    (tmp_path / "RunParameters.xml").write_text(
        "<RunParameters><RfidsInfo><SbsConsumableVersion>3</SbsConsumableVersion></RfidsInfo></RunParameters>"
    )
    parameters = parse_run_parameters(tmp_path)
    assert parameters is not None and parameters.sbs_consumable_version == 3


def test_index_cycles_decode_as_picard_reads_them(shared_testdata: Path) -> None:
    """The plan-time decoder on real NovaSeq 6000 CBCL equals Picard's index reads of the same clusters."""
    run = shared_testdata / "bcl-novaseq-cbcl"
    lane = run / "novaseq/Data/Intensities/BaseCalls/L001"
    decoded = set()
    for tile in (1101, 1102):
        passing = filter_mask(lane / f"s_1_{tile}.filter")
        calls = np.stack([tile_calls(lane / f"C{c}.1", 1, tile, passing) for c in range(152, 168)], axis=1)
        decoded |= {"".join("ACGTN"[c] for c in row) for row in calls}
    picard = set()
    for first in (run / "picard-151T8B8B151T_cbcl/fastq").glob("*.barcode_1.fastq"):
        second = first.with_name(first.name.replace("barcode_1", "barcode_2"))
        picard |= {
            a + b
            for a, b in zip(
                first.read_text().splitlines()[1::4], second.read_text().splitlines()[1::4], strict=True
            )
        }
    assert len(decoded) == 50
    assert decoded == picard


def test_v2_sheet_i5_is_reverse_complemented_when_runinfo_marks_it(rc_run, tmp_path: Path) -> None:
    folder, _ = rc_run
    sheet = tmp_path / "SampleSheet.csv"
    _v2_sheet(sheet)
    plan = load_plan({"run_folder": str(folder), "demux": {"sample_sheet": str(sheet)}})
    assert plan.lanes[0].barcodes[0] == ("S1", "TAAGGCGA", "GCGATCTA")
    assert plan.instrument.model == "NovaSeq X"
    assert plan.index2.reverse_complement
    forward = load_plan(
        {"run_folder": str(folder), "demux": {"sample_sheet": str(sheet), "index2_reverse_complement": False}}
    )
    assert forward.lanes[0].barcodes[0] == ("S1", "TAAGGCGA", "TAGATCGC")


def test_wrong_i5_orientation_stops_before_any_job(rc_run, demux_workflow, tmp_path: Path) -> None:
    """The simulator's v1 sheet lists the forward i5, as for a forward-strand instrument: nothing matches."""
    folder, _ = rc_run
    with pytest.raises(DemuxError) as error:
        load_plan({"run_folder": str(folder)})
    message = str(error.value)
    assert (
        "lane 1: the i5 (Index2) orientation looks wrong: of 24 clusters passing filter on tile(s) 1101, 1102"
        in message
    )
    assert "0.0% carry a sample's barcode as planned (v1/IEM sheet on this NovaSeq X" in message
    assert "100.0% would with Index2 reverse-complemented" in message
    assert "set demux.index2_reverse_complement: true" in message
    result = demux_workflow(tmp_path / "wf", {"run_folder": str(folder), "outdir": "out"})
    assert result.returncode != 0
    assert "the i5 (Index2) orientation looks wrong" in result.stderr
    assert not (tmp_path / "wf" / "out").exists()  # stopped before any job


def test_override_demultiplexes_the_wrongly_oriented_run(rc_run, demux_workflow, tmp_path: Path) -> None:
    folder, written = rc_run
    config = {
        "run_folder": str(folder),
        "outdir": "out",
        "demux": {"index2_reverse_complement": True, "min_reads": 1},
    }
    result = demux_workflow(tmp_path, config)
    assert result.returncode == 0, result.stderr[-4000:]
    for sample, pairs in {**written, "Undetermined": 0}.items():
        with gzip.open(tmp_path / "out" / "fastq" / f"{sample}_L001_R1.fastq.gz", "rt") as fh:
            assert sum(1 for _ in fh) // 4 == pairs, sample


def test_nextseq_2000_v2_sheet_i5_is_reverse_complemented_and_each_pf_cluster_decodes_to_its_sample(
    nextseq_2000_run: SimulatedRun,
) -> None:
    """The simulated NextSeq 2000 run holds i5 as the instrument reads it (reverse complement) beside a v2
    sheet listing it forward: the plan flips the sheet's i5, and then every PF cluster's index reads, as
    the plan-time decoder reads them from the CBCLs, match its own sample and no other (one mismatch)."""
    run = nextseq_2000_run
    plan = load_plan({"run_folder": str(run.folder)})
    assert (plan.instrument.model, plan.instrument.i5_read) == ("NextSeq 1000/2000", REVERSE_COMPLEMENT)
    assert plan.index2.reverse_complement
    assert plan.index2.why.startswith("BCL Convert v2 sheet on this NextSeq 1000/2000, which reads i5 as the")
    [lane] = plan.lanes
    assert lane.barcodes == tuple((s.sample_id, s.index1, reverse_complement(s.index2)) for s in run.samples)
    tiles = [1101, 1102, 2101, 2102]
    barcodes, sampled = sample_index_reads(run.folder, plan.run_info, 1, tiles, (8, 8))
    passing = [w for w in run.written if w.passes_filter]  # tile after tile, as written and as decoded
    assert sampled == tiles and len(barcodes) == len(passing) == 3 * 30 + 4 + 2 - 2

    def samples_within_one_mismatch(barcode: bytes) -> list[str]:
        return [sample for sample, i7, i5 in lane.barcodes if hamming(barcode.decode(), i7 + i5) <= 1]

    assert [samples_within_one_mismatch(b) for b in barcodes] == [
        [w.cluster.sample] if w.cluster.sample else [] for w in passing
    ]
    # every fifth sample cluster carries one i7 mismatch (conftest): the rest match the reversed sheet exactly
    i7_of = {s.sample_id: s.index1 for s in run.samples}
    exact = sum(w.cluster.index1 == i7_of[w.cluster.sample] for w in passing if w.cluster.sample)
    as_listed = count_matches(barcodes, [(s.index1, s.index2) for s in run.samples])
    assert (as_listed.as_planned, as_listed.reverse_complemented) == (0, exact)


@pytest.mark.parametrize(
    ("sheet_version", "sheet_i5", "override"),
    [(1, "forward", "true"), (2, "as read", "false")],
    ids=["v1-sheet-forward-i5", "v2-sheet-i5-as-read"],
)
def test_wrong_i5_orientation_on_nextseq_2000_stops_before_any_job(
    nextseq_2000_run: SimulatedRun, tmp_path: Path, sheet_version: int, sheet_i5: str, override: str
) -> None:
    """A v1 (bcl2fastq) sheet copying the kit's forward i5, or a v2 sheet whose i5 someone already
    reverse-complemented: either way the plan's i5 is the other way round from the CBCLs'."""
    run = nextseq_2000_run
    samples = [
        SheetSample(
            s.sample_id, s.index1, s.index2 if sheet_i5 == "forward" else reverse_complement(s.index2)
        )
        for s in run.samples
    ]
    sheet = tmp_path / "SampleSheet.csv"
    sheet.write_text(_sample_sheet(samples, [1], (36, 8, 8, 36), bcl_convert=sheet_version == 2))
    with pytest.raises(DemuxError) as error:
        load_plan({"run_folder": str(run.folder), "demux": {"sample_sheet": str(sheet)}})
    message = str(error.value)
    kind = "v1/IEM sheet" if sheet_version == 1 else "BCL Convert v2 sheet"
    assert "lane 1: the i5 (Index2) orientation looks wrong: of 94 clusters passing filter" in message
    assert f"0.0% carry a sample's barcode as planned ({kind} on this NextSeq 1000/2000" in message
    assert f"set demux.index2_reverse_complement: {override} and run again" in message
