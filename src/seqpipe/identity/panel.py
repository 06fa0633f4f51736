"""A fixed identity site panel (config `identity.sites`): common biallelic SNPs known before the run, as
somalier, NGSCheckMate and VerifyBamID use. Checked when the workflow is parsed, before any job, like
the other reference-side files: a missing or unindexed file, or a contig the reference lacks, stops
the run with the file (and the line and contig)."""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from pathlib import Path


class PanelError(ValueError):
    """The identity panel cannot be used; the message names the file (and line)."""


def check_panel(path: str | Path, contigs: Mapping[str, int], what: str = "identity.sites") -> None:
    """Refuse a panel that is missing, not a bgzipped and indexed VCF, on contigs the reference lacks,
    or without a biallelic SNP (the only records the workflow genotypes)."""
    panel = Path(path)
    if not panel.is_file():
        raise PanelError(f"{what}: {panel}: file not found")
    if not any(Path(f"{panel}{ext}").is_file() for ext in (".tbi", ".csi")):
        raise PanelError(f"{what}: {panel}: no index ({panel}.tbi or .csi); make one with `tabix -p vcf`")
    snps = 0
    try:
        with gzip.open(panel, "rt") as fh:
            for number, line in enumerate(fh, start=1):
                if line.startswith("#"):
                    continue
                where = f"{what}: {panel} line {number}"
                fields = line.split("\t", 5)
                if len(fields) < 5:
                    raise PanelError(f"{where}: not a VCF record (fewer than 5 columns)")
                contig, _, _, ref, alt = fields[:5]
                if contig not in contigs:
                    raise PanelError(f"{where}: contig '{contig}' is not in the reference")
                snps += len(ref) == 1 and len(alt) == 1 and alt != "."
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise PanelError(f"{what}: {panel}: not a bgzipped VCF ({err})") from err
    if not snps:
        raise PanelError(f"{what}: {panel}: no biallelic SNP")
