"""Low-mappability stratum from the reference alone: 150 bp tiles mapped back with bwa mem."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from seqpipe.simulate.files import run_tool, write_fasta
from seqpipe.simulate.intervals import Interval, merge

TILE = 150
STEP = 25
MIN_MAPQ = 10


def low_mappability(contigs: dict[str, str], threads: int) -> list[Interval]:
    """Stretches covered by tiles that bwa places with MAPQ < 10 (or not at all)."""
    with tempfile.TemporaryDirectory(prefix="seqpipe-lowmap-") as tmp:
        ref, tiles = Path(tmp) / "ref.fa", Path(tmp) / "tiles.fa"
        write_fasta(ref, contigs)
        run_tool(["bwa", "index", str(ref)], "bwa index (low-mappability stratum)")
        with tiles.open("w") as out:
            for name, seq in contigs.items():
                for start in range(0, len(seq) - TILE + 1, STEP):
                    tile = seq[start : start + TILE]
                    if "N" not in tile:  # an N gap is not sequence that maps badly: it is no sequence
                        out.write(f">{name}:{start}\n{tile}\n")
        # A fixed -K makes bwa's output independent of the thread count.
        cmd = ["bwa", "mem", "-t", str(threads), "-K", "10000000", str(ref), str(tiles)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"bwa mem failed (low-mappability stratum): {done.stderr[-2000:]}")
    low: list[Interval] = []
    for line in done.stdout.splitlines():
        if line.startswith("@"):
            continue
        name, flag, _, _, mapq = line.split("\t", 5)[:5]
        if int(flag) & 0x900 == 0 and (int(flag) & 0x4 or int(mapq) < MIN_MAPQ):
            chrom, start = name.rsplit(":", 1)
            low.append((chrom, int(start), int(start) + TILE))
    return merge(low)
