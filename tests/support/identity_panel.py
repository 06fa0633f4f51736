"""An identity site panel for a simulated data set (config identity.sites): the known sites `seqpipe
simulate` writes (known_sites/known_sites.vcf.gz) when the data set has them, else one made here from
the samples' truth SNPs, as a site-only, bgzipped and indexed VCF."""

from __future__ import annotations

import subprocess
from pathlib import Path

KNOWN_SITES = Path("known_sites") / "known_sites.vcf.gz"


def identity_panel(data: Path) -> Path:
    """The data set's panel, made from its truth VCFs (every sample's biallelic SNPs) if it has none."""
    panel = data / KNOWN_SITES
    if panel.exists():
        return panel
    truths = sorted(str(p) for p in (data / "truth").glob("*.vcf.gz"))
    panel.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        f"bcftools merge --no-version --force-samples -m none {' '.join(truths)} -Ou | "
        f"bcftools view --no-version -G -v snps -m2 -M2 -Oz -o {panel} && tabix -p vcf {panel}",
        shell=True,
        check=True,
    )
    return panel
