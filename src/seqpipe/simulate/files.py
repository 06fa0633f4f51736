"""Writers for the generated files: FASTA, BED, truth and known-sites VCFs (bgzip + tabix), sheets and the
manifest."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from seqpipe.simulate.intervals import Interval
from seqpipe.simulate.known_sites import draw_known_sites
from seqpipe.simulate.reads import UnitFiles
from seqpipe.simulate.variants import Variant

FASTA_WIDTH = 60


def run_tool(cmd: list[str], what: str) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({' '.join(cmd)}): {done.stderr.strip()}")
    return done.stdout


def write_fasta(path: Path, contigs: dict[str, str]) -> None:
    with path.open("w") as out:
        for name, seq in contigs.items():
            out.write(f">{name}\n")
            out.writelines(seq[i : i + FASTA_WIDTH] + "\n" for i in range(0, len(seq), FASTA_WIDTH))


def write_bed(path: Path, intervals: Iterable[Interval]) -> None:
    path.write_text("".join(f"{chrom}\t{start}\t{end}\n" for chrom, start, end in intervals))


def write_vcf(
    path: Path, contigs: dict[str, str], variants: list[Variant], sample: str | None = None
) -> None:
    """Writes `path` (.vcf.gz, bgzipped) and its tabix index: the truth of `sample`, or sites only."""
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    if sample is not None:
        columns += ["FORMAT", sample]
    header = [
        "##fileformat=VCFv4.2",
        "##source=seqpipe-simulate",
        "##reference=genome.fa",
        *(f"##contig=<ID={name},length={len(seq)}>" for name, seq in contigs.items()),
        '##INFO=<ID=STR,Number=0,Type=Flag,Description="Indel that changes a microsatellite by whole units">',
        *(['##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">'] if sample else []),
        "\t".join(columns),
    ]
    body = [
        f"{v.chrom}\t{v.pos + 1}\t.\t{v.ref}\t{v.alt}\t.\tPASS\t{'STR' if v.microsatellite else '.'}"
        + (f"\tGT\t{'|'.join(map(str, v.genotype))}" if sample else "")
        for v in variants
    ]
    text = "\n".join(header + body) + "\n"
    with path.open("wb") as out:
        done = subprocess.run(["bgzip", "-c"], input=text.encode(), stdout=out, stderr=subprocess.PIPE)
    if done.returncode != 0:
        raise RuntimeError(f"bgzip failed writing {path}: {done.stderr.decode().strip()}")
    run_tool(["tabix", "-f", "-p", "vcf", str(path)], f"tabix on {path}")


def write_known_sites(
    outdir: Path, seed: int, contigs: dict[str, str], truth: dict[str, list[Variant]]
) -> Path:
    """OUTDIR/known_sites/known_sites.vcf.gz (+ .tbi), drawn by seqpipe.simulate.known_sites."""
    path = outdir / "known_sites" / "known_sites.vcf.gz"
    path.parent.mkdir(exist_ok=True)
    write_vcf(path, contigs, draw_known_sites(seed, contigs, truth))
    return path


def write_tsv(path: Path, columns: list[str], rows: Iterable[Iterable[object]]) -> None:
    lines = ["\t".join(columns)] + ["\t".join(str(x) for x in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def write_sheets(outdir: Path, sexes: Mapping[str, str], group: str, units: Iterable[UnitFiles]) -> None:
    """samples.tsv (the samples in one group, with their sexes) and units.tsv (one library a sample)."""
    write_samples(outdir / "samples.tsv", sexes, group)
    write_tsv(
        outdir / "units.tsv",
        ["sample", "unit", "fq1", "fq2", "platform", "library"],
        [(u.sample, u.unit, u.fq1, u.fq2, "ILLUMINA", f"{u.sample}-lib1") for u in units],
    )


def write_samples(path: Path, sexes: Mapping[str, str], group: str) -> None:
    write_tsv(path, ["sample", "group", "sex"], [(s, group, sex) for s, sex in sexes.items()])


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(outdir: Path, parameters: dict, summary: dict) -> Path:
    """Every file under `outdir` with its size and sha256, plus what produced them."""
    files = {
        str(p.relative_to(outdir)): {"bytes": p.stat().st_size, "sha256": sha256(p)}
        for p in sorted(outdir.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }
    manifest = {"generator": "seqpipe simulate", "parameters": parameters, "summary": summary, "files": files}
    path = outdir / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path
