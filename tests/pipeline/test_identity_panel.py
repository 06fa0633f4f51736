"""The fixed identity site panel (config identity.sites): refused before any job when it cannot be
used, and its per-sample, per-chunk genotypes gathered into the allele-depths table seqpipe.identity
reads. Its verdicts on simulated scenarios are in test_sample_identity.py."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pytest

from seqpipe.identity.allele_depths import merge_panel_genotypes, read_allele_depths
from seqpipe.reference.contigs import ReferenceError
from seqpipe.reference.sites_vcf import check_sites_vcf

from .conftest import fake_config, snakemake

CONTIGS = {"chr1": 2000, "chr2": 1200}


def _panel(path: Path, records: list[str], index: bool = True, contigs: dict[str, int] = CONTIGS) -> Path:
    header = "##fileformat=VCFv4.2\n" + "".join(f"##contig=<ID={c},length={n}>\n" for c, n in contigs.items())
    plain = path.with_suffix("")
    plain.write_text(header + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "".join(records))
    subprocess.run(["bgzip", "-f", str(plain)], check=True)
    if index:
        subprocess.run(["tabix", "-p", "vcf", str(path)], check=True)
    return path


def test_a_panel_on_a_contig_the_reference_lacks_is_refused_naming_the_file_line_and_contig(tmp_path: Path):
    panel = _panel(tmp_path / "sites.vcf.gz", ["chr1\t10\t.\tA\tG\t.\t.\t.\n", "chr7\t5\t.\tC\tT\t.\t.\t.\n"])
    with pytest.raises(ReferenceError) as refused:
        check_sites_vcf(panel, CONTIGS, "identity.sites", records=True)
    assert str(refused.value) == f"identity.sites: {panel} line 6: contig 'chr7' is not in the reference"


def test_a_missing_or_unindexed_panel_or_one_without_snps_is_refused_naming_the_file(tmp_path: Path):
    missing = tmp_path / "none.vcf.gz"
    with pytest.raises(ReferenceError, match=f"identity.sites: {missing}: file not found"):
        check_sites_vcf(missing, CONTIGS, "identity.sites", records=True)
    unindexed = _panel(tmp_path / "unindexed.vcf.gz", ["chr1\t10\t.\tA\tG\t.\t.\t.\n"], index=False)
    with pytest.raises(ReferenceError, match=f"identity.sites: {unindexed}: not indexed"):
        check_sites_vcf(unindexed, CONTIGS, "identity.sites", records=True)
    indels = _panel(tmp_path / "indels.vcf.gz", ["chr1\t10\t.\tA\tAG\t.\t.\t.\n"])
    with pytest.raises(ReferenceError, match=f"identity.sites: {indels}: no biallelic SNP"):
        check_sites_vcf(indels, CONTIGS, "identity.sites", records=True)


def test_a_panel_whose_header_gives_a_contig_another_length_is_refused_as_another_build(tmp_path: Path):
    """Records alone would pass (chr1:10 exists in both builds); the header's length tells them apart."""
    panel = _panel(tmp_path / "sites.vcf.gz", ["chr1\t10\t.\tA\tG\t.\t.\t.\n"], contigs={"chr1": 2500})
    with pytest.raises(ReferenceError) as refused:
        check_sites_vcf(panel, CONTIGS, "identity.sites", records=True)
    assert str(refused.value).startswith(
        f"identity.sites: {panel}: does not match the reference: contig 'chr1' has length 2500 there but "
        "2000 in the reference. It looks like another build"
    )


def test_the_workflow_refuses_a_bad_panel_before_any_job(tmp_path: Path, fake_inputs: dict) -> None:
    panel = _panel(tmp_path / "sites.vcf.gz", ["chr1\t10\t.\tA\tG\t.\t.\t.\n", "chrX\t5\t.\tC\tT\t.\t.\t.\n"])
    config = fake_config(
        tmp_path,
        fake_inputs,
        outdir=str(tmp_path / "results"),
        identity={"sites": str(panel)},
    )
    result = snakemake("--configfile", str(config), "--cores", "1", workdir=tmp_path)
    assert result.returncode != 0
    assert f"identity.sites: {panel} line 6: contig 'chrX' is not in the reference" in result.stderr
    assert not (tmp_path / "results").exists()


def _gz(path: Path, text: str) -> Path:
    with gzip.open(path, "wt") as fh:
        fh.write(text)
    return path


def test_panel_parts_merge_in_panel_order_with_samples_without_reads_uncalled(tmp_path: Path) -> None:
    sites = _gz(tmp_path / "sites.tsv.gz", "chr1\t10\tA,G\nchr1\t50\tC,T\nchr2\t7\tG,A\nchr2\t90\tT,C\n")
    empty = tmp_path / "empty.tsv.gz"
    empty.write_bytes(b"")  # an empty chunk's part
    parts = {
        "S1": [
            _gz(tmp_path / "S1.0.tsv.gz", "chr1\t10\t0/1:12,11\n"),
            _gz(tmp_path / "S1.1.tsv.gz", "chr2\t7\t1/1:0,20\n"),
        ],
        "S2": [_gz(tmp_path / "S2.0.tsv.gz", "chr1\t10\t0/0:25\nchr1\t50\t0/1:9,8\n"), empty],
    }
    merge_panel_genotypes(parts, sites, tmp_path / "depths.tsv.gz")

    samples, calls = read_allele_depths(tmp_path / "depths.tsv.gz")
    assert samples == ["S1", "S2"]
    with gzip.open(tmp_path / "depths.tsv.gz", "rt") as fh:
        rows = fh.read().splitlines()[1:]
    assert [tuple(r.split("\t")[:2]) for r in rows] == [("chr1", "10"), ("chr1", "50"), ("chr2", "7")]
    assert [(c.dosage, c.ref_reads, c.alt_reads) for c in calls[0]] == [(1, 12, 11), (0, 25, 0)]
    assert [(c.dosage, c.depth) for c in calls[1]] == [(None, 0), (1, 17)]
    assert [(c.dosage, c.depth) for c in calls[2]] == [(2, 20), (None, 0)]
