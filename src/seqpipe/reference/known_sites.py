"""The known-sites VCFs of GATK's base-quality recalibration, checked against the reference when the
workflow is parsed: BaseRecalibrator would otherwise stop hours into a run (a contig it cannot find) or,
worse, recalibrate against sites of another build."""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Sequence
from pathlib import Path

from seqpipe.reference.contigs import ReferenceError, contig_lengths

CONTIG = re.compile(r"^##contig=<(.*)>$")
# tabix/CSI indexes of a bgzipped VCF; a plain-text VCF is indexed by GATK's IndexFeatureFile (.idx)
INDEXES = {True: (".tbi", ".csi"), False: (".idx",)}


def known_sites_index(vcf: str | Path) -> str | None:
    """The index beside `vcf` that GATK reads, if there is one."""
    for suffix in INDEXES[str(vcf).endswith(".gz")]:
        if os.path.isfile(f"{vcf}{suffix}"):
            return f"{vcf}{suffix}"
    return None


def _header_contigs(vcf: Path) -> dict[str, int | None]:
    """Contig → length (None when the line gives none) from the VCF's ##contig header lines."""
    opener = gzip.open if vcf.name.endswith(".gz") else open
    contigs: dict[str, int | None] = {}
    try:
        with opener(vcf, "rt") as fh:
            first = fh.readline()
            if not first.startswith("##fileformat=VCF"):
                raise ReferenceError(f"known-sites VCF {vcf}: not a VCF (no ##fileformat=VCF line first)")
            for line in fh:
                if not line.startswith("##"):
                    break
                if match := CONTIG.match(line.rstrip("\n")):
                    fields = dict(re.findall(r"(\w+)=([^,]*)", match.group(1)))
                    length = fields.get("length")
                    contigs[fields.get("ID", "")] = int(length) if length and length.isdigit() else None
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise ReferenceError(f"known-sites VCF {vcf} cannot be read: {error}") from None
    return contigs


def check_known_sites(vcfs: Sequence[str | Path], fasta: str | Path) -> None:
    """ReferenceError naming the file and the problem when a known-sites VCF is missing, unreadable, not
    indexed, has no ##contig lines, or names a contig the reference lacks or gives it another length."""
    reference = contig_lengths(fasta)
    for path in map(Path, vcfs):
        if not path.is_file():
            raise ReferenceError(f"known-sites VCF {path} (calling.gatk.known_sites) does not exist")
        if not os.access(path, os.R_OK):
            raise ReferenceError(f"known-sites VCF {path} cannot be read (permission denied)")
        contigs = _header_contigs(path)
        if known_sites_index(path) is None:
            expected = " or ".join(f"{path}{s}" for s in INDEXES[path.name.endswith(".gz")])
            raise ReferenceError(
                f"known-sites VCF {path} is not indexed: no {expected} (make one with "
                f"{'tabix -p vcf' if path.name.endswith('.gz') else 'gatk IndexFeatureFile -I'} {path})"
            )
        if not contigs:
            raise ReferenceError(
                f"known-sites VCF {path} has no ##contig header lines: its build cannot be checked "
                f"against the reference {fasta}"
            )
        problems = [
            f"contig '{name}' is not in the reference"
            if name not in reference
            else f"contig '{name}' has length {length} there but {reference[name]} in the reference"
            for name, length in contigs.items()
            if name not in reference or (length is not None and length != reference[name])
        ]
        if problems:
            shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
            raise ReferenceError(
                f"known-sites VCF {path} does not match the reference {fasta}: {shown}. "
                "It looks like another build or assembly (or another contig naming, 'chr1' vs '1')."
            )
