"""Quick mode: what a bounded read can check, per format, on the repository's real files and on files
made from them (by htslib through pysam, or by changing bytes the way the issue's findings did)."""

from __future__ import annotations

import gzip
import os
import random
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

import pysam
import pytest

from seqpipe.validators import validate
from seqpipe.validators.binary import BGZF_EOF
from seqpipe.validators.quick import MAX_HEAD, QUICK_READ_LIMIT

DATA = Path(__file__).resolve().parents[1] / "dataplane" / "data"


def bgzf(content: bytes) -> bytes:
    """`content` as htslib's BGZF writer compresses it (blocks, then the EOF block)."""
    with tempfile.NamedTemporaryFile(suffix=".gz") as scratch:
        with pysam.BGZFile(scratch.name, "wb") as out:
            out.write(content)
        return Path(scratch.name).read_bytes()


def messages(result) -> list[str]:
    return [e.message for e in result.errors]


def copy(tmp_path: Path, name: str, as_name: str | None = None) -> Path:
    target = tmp_path / (as_name or name)
    shutil.copy(DATA / name, target)
    return target


@pytest.fixture
def bcf(tmp_path) -> Path:
    """NA12891.vcf as BCF 2.2, written by htslib."""
    path = tmp_path / "NA12891.bcf"
    with (
        pysam.VariantFile(str(DATA / "NA12891.vcf")) as vcf,
        pysam.VariantFile(str(path), "wb", header=vcf.header) as out,
    ):
        for record in vcf:
            out.write(record)
    return path


# ---- the findings: a name is no proof of a format ------------------------------------------


def test_random_bytes_named_cram_are_not_a_cram(tmp_path):
    path = tmp_path / "random.cram"
    path.write_bytes(random.Random(16).randbytes(5000))
    for deep in (False, True):
        result = validate(path, deep=deep)
        assert not result.valid and result.format == "CRAM"
        assert messages(result)[0].startswith("not a CRAM file: it starts with")


def test_cram_with_a_wrong_magic_is_not_a_cram(tmp_path):
    path = tmp_path / "wrong.cram"
    path.write_bytes(b"CRAX" + (DATA / "ok.cram").read_bytes()[4:])
    assert messages(validate(path)) == ["not a CRAM file: it starts with b'CRAX', not the CRAM magic b'CRAM'"]


def test_bgzf_wrapped_bam_with_a_wrong_inner_magic_is_not_a_bam(tmp_path):
    content = gzip.decompress((DATA / "ok.bam").read_bytes())
    path = tmp_path / "wrong.bam"
    path.write_bytes(bgzf(b"BAM\x02" + content[4:]))
    for deep in (False, True):
        assert messages(validate(path, deep=deep)) == [
            "not a BAM file: its decompressed data starts with b'BAM\\x02', not the BAM magic b'BAM\\x01'"
        ]


def test_bgzf_wrapped_bcf_with_a_wrong_inner_magic_is_not_a_bcf(tmp_path, bcf):
    content = gzip.decompress(bcf.read_bytes())
    path = tmp_path / "wrong.bcf"
    path.write_bytes(bgzf(b"BCX" + content[3:]))
    assert messages(validate(path))[0].startswith("not a BCF file: its decompressed data starts with b'BCX")


# ---- versions and headers --------------------------------------------------------------------------------


@pytest.mark.parametrize(("major", "minor"), [(4, 0), (183, 38), (3, 9), (1, 0)])
def test_cram_of_an_unreleased_version_is_invalid(tmp_path, major, minor):
    data = bytearray((DATA / "ok.cram").read_bytes())
    data[4:6] = bytes([major, minor])
    path = tmp_path / "version.cram"
    path.write_bytes(bytes(data))
    assert messages(validate(path)) == [
        f"CRAM version {major}.{minor} is not a released version (2.0, 2.1, 3.0, 3.1)"
    ]


def test_cram_header_container_with_a_changed_byte_fails_its_crc(tmp_path):
    data = bytearray((DATA / "ok.cram").read_bytes())
    data[30] ^= 0x01  # inside the header container's header, after its length
    path = tmp_path / "crc.cram"
    path.write_bytes(bytes(data))
    assert messages(validate(path)) == [
        "unreadable CRAM header container: CRAM container header CRC32 mismatch"
    ]


def test_cram_header_block_must_be_raw_or_gzip(tmp_path):
    """CRAM 3 §8.3: the SAM header block is uncompressed or gzip; anything else cannot be confirmed."""
    data = bytearray((DATA / "ok.cram").read_bytes())
    header_size = 26 + _container_header_size(bytes(data))
    data[header_size] = 4  # rANS
    _fix_block_crc(data, header_size)
    path = tmp_path / "rans-header.cram"
    path.write_bytes(bytes(data))
    assert messages(validate(path))[0].startswith("the header container's first block is not a raw or gzip")


def _container_header_size(data: bytes) -> int:
    from seqpipe.validators.binary import cram_container_header

    return cram_container_header(data[26:], 26, 3).header_size


def _fix_block_crc(data: bytearray, start: int) -> None:
    """The CRC32 at the end of the block at `start`, made right again after a change."""
    from seqpipe.validators.binary import itf8

    _, pos = itf8(data, start + 2)  # content id
    compressed, pos = itf8(data, pos)
    _, pos = itf8(data, pos)  # raw size
    end = pos + compressed
    data[end : end + 4] = struct.pack("<I", zlib.crc32(bytes(data[start:end])))


@pytest.mark.parametrize("minor", [1, 2])
def test_bcf_2_1_and_2_2_are_valid_other_minor_versions_not(tmp_path, bcf, minor):
    content = bytearray(gzip.decompress(bcf.read_bytes()))
    assert validate(bcf).valid and content[3:5] == b"\x02\x02"
    content[4] = minor
    path = tmp_path / f"v{minor}.bcf"
    path.write_bytes(bgzf(bytes(content)))
    assert validate(path).valid
    content[4] = 9
    path.write_bytes(bgzf(bytes(content)))
    assert messages(validate(path)) == ["BCF version 2.9 is not 2.1 or 2.2"]


def test_bam_header_claiming_gigabytes_is_truncated_not_read(tmp_path):
    content = bytearray(gzip.decompress((DATA / "ok.bam").read_bytes()))
    content[4:8] = struct.pack("<i", 2**31 - 1)  # l_text
    path = tmp_path / "claims.bam"
    path.write_bytes(bgzf(bytes(content)))
    result = validate(path)
    assert messages(result) == ["BAM header is truncated: the file ends inside it"]
    assert result.bytes_read <= QUICK_READ_LIMIT


def test_bam_header_longer_than_the_window_is_a_limit_of_the_check_not_an_error(tmp_path):
    """A valid BAM whose header text is larger than quick mode reads: a warning, never a refusal."""
    text = "@HD\tVN:1.6\n" + "".join(f"@SQ\tSN:c{i}\tLN:1000\n" for i in range(300_000))
    path = tmp_path / "big-header.bam"
    pysam.AlignmentFile(str(path), "wb", text=text).close()
    result = validate(path)
    assert result.valid and path.stat().st_size > MAX_HEAD
    assert [w.message for w in result.warnings] == [
        "BAM header is longer than the quick-mode window; it was not checked to its end",
        "no index found (.bai, .csi): random access unavailable",
    ]
    assert result.bytes_read <= QUICK_READ_LIMIT


# ---- both ends of compressed files -----------------------------------------------------------------------


def test_corrupt_last_bgzf_block_is_located(tmp_path):
    text = gzip.decompress((DATA / "reads_R1.fastq.gz").read_bytes())
    data = bytearray(bgzf(text * 40))  # several blocks
    last = bytes(data).rfind(b"\x1f\x8b\x08\x04", 0, len(data) - len(BGZF_EOF))
    data[last + 40] ^= 0xFF
    path = tmp_path / "last.fastq.gz"
    path.write_bytes(bytes(data))
    result = validate(path)
    assert len(data) > 64 * 1024 and result.errors[0].offset == last
    assert result.errors[0].message.startswith("corrupt last BGZF block")


def test_fastq_gz_without_its_last_block_before_the_eof_marker_is_damaged(tmp_path):
    text = gzip.decompress((DATA / "reads_R1.fastq.gz").read_bytes())
    data = bgzf(text * 40)
    last = data.rfind(b"\x1f\x8b\x08\x04", 0, len(data) - len(BGZF_EOF))
    path = tmp_path / "cut.fastq.gz"
    path.write_bytes(data[: last + 100] + BGZF_EOF)  # a block cut short, then the marker
    assert messages(validate(path)) == [
        "no BGZF block ends where the EOF block starts: the file is damaged near its end"
    ]


def test_small_plain_gzip_cut_short_is_truncated(tmp_path):
    data = gzip.compress(gzip.decompress((DATA / "reads_R1.fastq.gz").read_bytes()))
    path = tmp_path / "cut.fq.gz"
    path.write_bytes(data[: len(data) // 2])
    assert "the gzip stream ends inside a member: the file is truncated" in messages(validate(path))


def test_large_plain_gzip_warns_that_its_end_is_left_to_deep_mode(tmp_path):
    data = gzip.compress(random.Random(1).randbytes(3 * 1024 * 1024).hex().encode(), 1)
    path = tmp_path / "big.fastq.gz"
    path.write_bytes(gzip.compress(("@r\nACGT\n+\nIIII\n" * 400_000).encode(), 1) + data[:10])
    result = validate(path)
    assert any("plain gzip, not BGZF" in w.message for w in result.warnings)


def test_vcf_without_a_final_newline_is_invalid_other_text_only_warned(tmp_path):
    vcf = tmp_path / "x.vcf"
    vcf.write_bytes((DATA / "NA12891.vcf").read_bytes().rstrip(b"\n"))
    fastq = tmp_path / "x.fastq"
    fastq.write_bytes(gzip.decompress((DATA / "reads_R1.fastq.gz").read_bytes()).rstrip(b"\n"))
    assert messages(validate(vcf)) == ["the file does not end with a newline: truncated?"]
    assert validate(fastq).valid and validate(fastq).warnings


def test_empty_fastq_is_valid_with_a_warning_empty_bam_is_not(tmp_path):
    (tmp_path / "none.fastq").write_bytes(b"")
    (tmp_path / "none.bam").write_bytes(b"")
    empty = validate(tmp_path / "none.fastq")
    assert (
        empty.valid
        and empty.records == 0
        and [w.message for w in empty.warnings] == ["empty file: no records"]
    )
    assert messages(validate(tmp_path / "none.bam")) == ["empty file"]


# ---- indexes ----------------------------------------------------------------------------------------


def test_matching_bai_and_csi_are_found_and_accepted(tmp_path):
    bam = copy(tmp_path, "ok.bam")
    pysam.index(str(bam))
    assert validate(bam).index == str(bam) + ".bai" and validate(bam).valid
    os.remove(str(bam) + ".bai")
    pysam.index("-c", str(bam))
    assert validate(bam).index == str(bam) + ".csi" and validate(bam).valid


def test_bai_of_another_bam_does_not_match(tmp_path):
    other = tmp_path / "one-ref.bam"
    with pysam.AlignmentFile(str(other), "wb", text="@SQ\tSN:q\tLN:100\n"):
        pass
    pysam.index(str(other))
    bam = copy(tmp_path, "ok.bam")
    shutil.copy(str(other) + ".bai", str(bam) + ".bai")
    assert messages(validate(bam)) == [
        "index ok.bam.bai does not match: it covers 1 references, the header has 4"
    ]


def test_index_pointing_past_the_end_of_the_file_does_not_match(tmp_path):
    """An index made for a longer file with the same header: its offsets point beyond this one's end."""
    rng = random.Random(16)
    header = {"SQ": [{"SN": "q", "LN": 10_000_000}]}
    long, short = tmp_path / "long.bam", tmp_path / "short.bam"
    for path, count in ((long, 20_000), (short, 10)):
        with pysam.AlignmentFile(str(path), "wb", header=header) as out:
            for i in range(count):
                read = pysam.AlignedSegment(out.header)
                read.query_name, read.reference_id, read.reference_start = f"r{i}", 0, i * 10
                read.query_sequence = "".join(rng.choice("ACGT") for _ in range(100))
                read.cigarstring, read.query_qualities = "100M", pysam.qualitystring_to_array("I" * 100)
                out.write(read)
    pysam.index(str(long))
    shutil.copy(str(long) + ".bai", str(short) + ".bai")
    assert long.stat().st_size > 200_000
    assert messages(validate(short))[0].startswith("index short.bam.bai does not match: it points to byte")


def test_tabix_index_naming_contigs_the_header_lacks_does_not_match(tmp_path):
    other = tmp_path / "other.vcf"
    other.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=q>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nq\t5\t.\tA\tC\t.\t.\t.\n"
    )
    pysam.tabix_index(str(other), preset="vcf", force=True)
    vcf = copy(tmp_path, "NA12891.vcf.gz")
    shutil.copy(str(other) + ".gz.tbi", str(vcf) + ".tbi")
    assert messages(validate(vcf)) == [
        "index NA12891.vcf.gz.tbi does not match: it names contigs the header does not have: q"
    ]


def test_bcf_csi_must_cover_the_header_contigs(tmp_path, bcf):
    pysam.tabix_index(str(bcf), preset="bcf", force=True, csi=True, keep_original=True)
    assert validate(bcf).valid and validate(bcf).index == str(bcf) + ".csi"
    bam = copy(tmp_path, "ok.bam")
    pysam.index("-c", str(bam))
    shutil.copy(str(bam) + ".csi", str(bcf) + ".csi")
    assert messages(validate(bcf)) == [
        "index NA12891.bcf.csi does not match: it covers 4 references, the header has 85"
    ]


def test_crai_entries_must_point_at_containers_of_the_file(tmp_path):
    cram = copy(tmp_path, "ok.cram")
    pysam.index(str(cram))
    assert validate(cram).valid and validate(cram).index == str(cram) + ".crai"
    lines = gzip.decompress(Path(str(cram) + ".crai").read_bytes()).decode().splitlines()
    fields = lines[0].split("\t")
    fields[3] = str(int(fields[3]) + 7)  # a container offset off by 7 bytes
    Path(str(cram) + ".crai").write_bytes(gzip.compress(("\t".join(fields) + "\n").encode()))
    assert messages(validate(cram))[0].startswith(
        f"index ok.cram.crai does not match: no container at offset {fields[3]}"
    )


def test_a_missing_index_is_a_warning(tmp_path):
    result = validate(copy(tmp_path, "ok.bam"))
    assert result.valid and [w.message for w in result.warnings] == [
        "no index found (.bai, .csi): random access unavailable"
    ]


# ---- bounded reads, and nothing valid refused ----------------------------------------------------------


def test_quick_mode_reads_at_most_the_limit_of_a_large_bgzf_file(tmp_path):
    """A VCF.gz of a few MB with a header of ~500 KB: header, last block and all within the limit."""
    rng = random.Random(16)
    text = (DATA / "NA12891.vcf").read_text()
    header, chrom_line = text.split("#CHROM", 1)[0], "#CHROM" + text.split("#CHROM", 1)[1].split("\n", 1)[0]
    filler = "".join(f"##x{i}={rng.randbytes(100).hex()}\n" for i in range(2500))
    body = "".join(f"1\t{i + 1}\t{rng.randbytes(32).hex()}\tA\tC\t.\t.\t.\tGT\t0/1\n" for i in range(60_000))
    path = tmp_path / "big.vcf.gz"
    path.write_bytes(bgzf((header + filler + chrom_line + "\n" + body).encode()))
    result = validate(path)
    assert path.stat().st_size > 2 * QUICK_READ_LIMIT and result.valid
    assert 500_000 < result.bytes_read <= QUICK_READ_LIMIT


def test_every_valid_file_of_the_shared_corpora_is_valid_in_both_modes(shared_testdata):
    valid = [
        "freebayes-na12878-tiny/*.bam",
        "freebayes-na12878-tiny/*.cram",
        "freebayes-na12878-tiny/*.vcf*",
        "freebayes-na12878-tiny/derived/*.fastq.gz",
        "happy-platinum-na12878-chr21/*.vcf.gz",
        "runinfo-samplesheets-viralngs/**/*.fastq.gz",
        "sarscov2-artic-miseq/*.cram",
        "sarscov2-artic-miseq/*.fastq.gz",
        "validators/htsjdk/real/*.bam",
        "validators/htsjdk/real/*.vcf*",
        "validators/htsjdk/ValidateSamFileTest/valid.sam",
        "validators/htsjdk/ValidateSamFileTest/hanging_tab.sam",
        "validators/htslib/*.sam",
        "validators/samtools-quickcheck/*.ok.*",
        "validators/samtools-quickcheck/*notargets*",
        "bcl-*/**/fastq/*.fastq",  # Picard's expected output, empty files of barcodes without reads included
        "validators/hts-specs/*/passed/*.*",
    ]
    files = [
        p for pattern in valid for p in sorted(shared_testdata.glob(pattern)) if not p.name.endswith(".tbi")
    ]
    files += [
        DATA / name for name in ("ok.bam", "ok.cram", "NA12891.vcf", "NA12891.vcf.gz", "reads_R1.fastq.gz")
    ]
    refused, most = {}, (0, None)
    for path in files:
        for deep in (False, True):
            result = validate(path, deep=deep)
            if not result.valid:
                refused[f"{path.name} ({'deep' if deep else 'quick'})"] = [str(e) for e in result.errors]
            if not deep:
                most = max(most, (result.bytes_read, path.name))
    assert len(files) == 613 and refused == {}
    # the figure docs/data-plane.md reports: the most any file of the corpus costs in quick mode
    assert most == (154_443, "6.quickcheck.cram21.ok.cram") and most[0] <= QUICK_READ_LIMIT


def test_quick_mode_checks_the_first_200_records_and_leaves_the_rest_to_deep_mode(tmp_path):
    """A window holds up to 4 MiB of text (~30,000 VCF records): checking them all would make quick
    mode's time grow with the data; the first QUICK_RECORDS show the structure."""
    text = (DATA / "NA12891.vcf").read_text()
    header, records = (
        text[: text.index("\n", text.index("#CHROM")) + 1],
        text.split("#CHROM")[1].split("\n")[1:],
    )
    body = [line for line in records if line] * 70  # 210 records, the last ones with a bad POS
    body[205] = body[205].replace("\t", "\tx", 1)
    path = tmp_path / "late-error.vcf"
    path.write_text(header + "\n".join(body) + "\n")
    assert validate(path).valid
    assert not validate(path, deep=True).valid


def test_the_projects_generated_demo_data_is_valid_in_both_modes(tmp_path):
    """What seqpipe.simulate writes for the demo and the pipeline tests: gzip FASTQ, truth VCF.gz + .tbi."""
    from seqpipe.simulate import SimulationParams, simulate

    simulate(SimulationParams(outdir=tmp_path, seed=7, genome_size=120_000, samples=(("S1", 8.0),)))
    files = sorted(tmp_path.glob("reads/*.fastq.gz")) + sorted(tmp_path.glob("truth/*.vcf.gz"))
    assert len(files) == 5  # two lanes of paired reads, and the truth
    for path in files:
        for deep in (False, True):
            result = validate(path, deep=deep)
            assert result.valid, (path.name, deep, [str(e) for e in result.errors])
    assert validate(tmp_path / "truth" / "S1.vcf.gz").index == str(tmp_path / "truth" / "S1.vcf.gz.tbi")
