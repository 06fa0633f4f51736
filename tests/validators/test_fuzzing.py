"""The fuzzer's findings stay fixed, and a short seeded slice of it runs as a normal test.

The full run (100,000 inputs per format) is a command, not a test: benchmarks/fuzz_validators.py."""

from __future__ import annotations

import ctypes
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from seqpipe.validators import validate
from seqpipe.validators.deep import INCOMPLETE
from seqpipe.validators.isolated import MEMORY_BUDGET, IsolatedFailure, run_isolated
from seqpipe.validators.quick import QUICK_READ_LIMIT

REPO = Path(__file__).resolve().parents[2]
REGRESSIONS = Path(__file__).resolve().parent / "data"
SLICE = 250  # inputs per format: 2,250 in all, about a minute on 2 cores


def test_a_corrupt_index_beside_a_bam_no_longer_crashes_deep_mode():
    """pysam 0.24.1 loads the index it finds beside a BAM when it opens it, and died (SIGSEGV or
    SIGABRT) on this one; deep mode reads the records without it now, quick mode checks it."""
    path = REGRESSIONS / "fuzz-bam-crashes-pysam.bam"
    assert Path(f"{path}.bai").is_file()
    for _ in range(3):
        assert [e.message for e in validate(path, deep=True).errors] == [
            "index fuzz-bam-crashes-pysam.bam.bai does not match: it covers 8388612 references, "
            "the header has 4",
            "record 35 could not be read (htslib: error -4 while reading file)",
        ]


def test_a_crash_in_the_isolated_child_is_a_failure_not_the_end_of_the_caller():
    with pytest.raises(IsolatedFailure, match="crashed with SIGSEGV"):
        run_isolated(ctypes.string_at, 0)  # reads address 0
    assert run_isolated(len, "still here") == 10


def test_corrupt_gzip_member_is_a_finding_of_the_file():
    result = validate(REGRESSIONS / "fuzz-corrupt-member.fastq.gz", deep=True)
    assert [e.message[:30] for e in result.errors] == [
        "corrupt compressed block (Erro",
        "decompression failed after 0 r",
    ]


def test_run_folder_claiming_2_billion_lanes_is_refused_at_once(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "RunInfo.xml").write_bytes((REGRESSIONS / "fuzz-runinfo-lanes-2147483648.xml").read_bytes())
    (folder / "RTAComplete.txt").write_text("done")
    assert [e.message for e in validate(folder, deep=True).errors] == [
        "RunInfo.xml: 2147483648 lanes and 5 cycles are beyond any instrument (1-16 lanes, 1-2000 cycles)"
    ]


@pytest.mark.parametrize("name", ["fuzz-5000-digit-number.vcf", "fuzz-5000-digit-number.sam"])
def test_numbers_of_thousands_of_digits_are_read_not_refused_by_int(name):
    text = (REGRESSIONS / name).read_text()
    assert "0" * 4999 + "1" in text
    for deep in (False, True):
        result = validate(REGRESSIONS / name, deep=deep)
        assert not [e for e in result.errors if e.message.startswith(INCOMPLETE)], result.errors


def test_a_quoted_header_value_of_two_megabytes_is_checked_in_little_memory():
    """Measured in a fresh interpreter: its peak resident memory, and its deep child's. Its own is
    VmHWM (of this program's memory only): getrusage's maxrss keeps the peak from before the exec, when
    the process was a fork of this large test process."""
    script = (
        "import re, resource, sys; from seqpipe.validators import validate\n"
        "results = [validate(sys.argv[1], deep=deep) for deep in (False, True)]\n"
        "own = int(re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1)) // 1024\n"
        "child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024\n"
        "print(all(r.valid for r in results), own, child)"
    )
    path = REGRESSIONS / "fuzz-2mb-quoted-header-value.vcf.gz"
    run = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    valid, own_mib, child_mib = run.stdout.split()
    assert valid == "True" and int(own_mib) < 150 and int(child_mib) < 150


def test_a_comment_line_of_33_million_tabs_is_checked_within_the_memory_budget(tmp_path):
    """SAM:3117 of seed 20261207: an @CO line of 32 MiB of tabs, split into fields before its type was
    looked at, took the deep check past its budget ("validation could not complete"). Stored gzipped
    (32 MiB of tabs make 33 KB)."""
    path = tmp_path / "fuzz-co-line-of-33-million-tabs.sam"
    path.write_bytes(gzip.decompress((REGRESSIONS / f"{path.name}.gz").read_bytes()))
    assert max(len(line) for line in path.read_bytes().split(b"\n")) > 32 * 2**20
    for deep in (False, True):
        result = validate(path, deep=deep)
        assert result.valid and result.errors == [], result.errors


def test_memory_claimed_by_the_isolated_child_beyond_its_budget_ends_the_child_only():
    with pytest.raises(IsolatedFailure, match="needed more than its 320 MiB memory budget"):
        run_isolated(bytearray, 2 * MEMORY_BUDGET)


def test_a_seeded_slice_of_the_fuzzer_finds_nothing():
    """Every format, quick and deep: no exception, no timeout, bounded reads and memory; a crash of
    htslib inside the isolated deep child is allowed (it is pysam's, and contained: the fuzzer counts
    it), so is a deep child stopped by its memory budget (the input is refused, nothing else), and so
    is a call over 10 s of wall clock that used less than 10 s of CPU (a machine busy with other work)."""
    command = [sys.executable, str(REPO / "benchmarks" / "fuzz_validators.py"), "--inputs", str(SLICE)]
    run = subprocess.run([*command, "--seed", "16", "--json"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(run.stdout)
    formats = summary["formats"].values()
    assert [t["inputs"] for t in formats] == [SLICE] * 9
    assert summary["ranges"] == {fmt: [[0, SLICE]] for fmt in summary["formats"]}
    contained = ("htslib_crash", "memory_budget", "slow_on_a_loaded_machine")
    failures = [f for f in summary["findings"] if f["kind"] not in contained]
    assert failures == []
    assert max(t["max_bytes"]["bytes"] for t in formats) <= QUICK_READ_LIMIT
    peaks = [t[key]["bytes"] for t in formats for key in ("peak_worker", "peak_deep_child")]
    assert 0 < max(peaks) < 500 * 10**6


def test_shards_of_a_campaign_add_up_to_the_whole_run(tmp_path):
    """Input i is a function of (seed, format, i): shards run apart merge into the run of their union,
    and overlapping shards are refused (an input would count twice)."""
    command = [sys.executable, str(REPO / "benchmarks" / "fuzz_validators.py"), "--formats", "VCF,BAM"]

    def fuzz(*args: str) -> dict:
        run = subprocess.run([*command, *args], capture_output=True, text=True, timeout=300, check=True)
        return json.loads(run.stdout)

    shards = []
    for start in ("0", "12"):
        shards.append(tmp_path / f"shard-{start}.json")
        shards[-1].write_text(json.dumps(fuzz("--start", start, "--inputs", "12", "--json")))
    merged, whole = fuzz("--merge", *map(str, shards), "--json"), fuzz("--inputs", "24", "--json")
    assert merged["ranges"] == whole["ranges"] == {"VCF": [[0, 24]], "BAM": [[0, 24]]}
    for fmt in ("VCF", "BAM"):
        for key in ("inputs", "valid", "mutations", "max_bytes"):
            assert merged["formats"][fmt][key] == whole["formats"][fmt][key], (fmt, key)
    overlap = subprocess.run(
        [*command, "--merge", str(shards[0]), str(shards[0])], capture_output=True, text=True
    )
    assert overlap.returncode != 0 and "shards overlap at input 0" in overlap.stderr
