"""VCFs of sites known before the run, checked against the reference when the workflow is parsed:
GATK's known sites for base-quality recalibration (calling.gatk.known_sites) and the identity panel
(identity.sites). A tool would otherwise stop hours into a run (a contig it cannot find) or, worse,
use sites of another build. One check serves both; only the identity panel, which is small and whose
records the workflow genotypes, is read past its header (a known-sites VCF is dbSNP-sized)."""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TextIO

from seqpipe.reference.contigs import ReferenceError

CONTIG = re.compile(r"^##contig=<(.*)>$")
# tabix/CSI indexes of a bgzipped VCF; a plain-text VCF is indexed by GATK's IndexFeatureFile (.idx)
INDEXES = {True: (".tbi", ".csi"), False: (".idx",)}


def sites_index(vcf: str | Path) -> str | None:
    """The index beside `vcf` that the tools read, if there is one."""
    for suffix in INDEXES[str(vcf).endswith(".gz")]:
        if os.path.isfile(f"{vcf}{suffix}"):
            return f"{vcf}{suffix}"
    return None


def _header_contigs(lines: Iterator[tuple[int, str]], where: str) -> dict[str, int | None]:
    """Contig → length (None when the line gives none) from the ##contig lines; stops at #CHROM."""
    if not next(lines, (0, ""))[1].startswith("##fileformat=VCF"):
        raise ReferenceError(f"{where}: not a VCF (no ##fileformat=VCF line first)")
    contigs: dict[str, int | None] = {}
    for _, line in lines:
        if not line.startswith("##"):
            break
        if match := CONTIG.match(line.rstrip("\n")):
            fields = dict(re.findall(r"(\w+)=([^,]*)", match.group(1)))
            length = fields.get("length")
            contigs[fields.get("ID", "")] = int(length) if length and length.isdigit() else None
    return contigs


def _header_problems(contigs: Mapping[str, int | None], reference: Mapping[str, int]) -> list[str]:
    return [
        f"contig '{name}' is not in the reference"
        if name not in reference
        else f"contig '{name}' has length {length} there but {reference[name]} in the reference"
        for name, length in contigs.items()
        if name not in reference or (length is not None and length != reference[name])
    ]


def _biallelic_snps(lines: Iterator[tuple[int, str]], reference: Mapping[str, int], where: str) -> int:
    """The records' biallelic SNPs, refusing a record on a contig the reference lacks (with its line)."""
    snps = 0
    for number, line in lines:
        fields = line.split("\t", 5)
        if len(fields) < 5:
            raise ReferenceError(f"{where} line {number}: not a VCF record (fewer than 5 columns)")
        contig, _, _, ref, alt = fields[:5]
        if contig not in reference:
            raise ReferenceError(f"{where} line {number}: contig '{contig}' is not in the reference")
        snps += len(ref) == 1 and len(alt) == 1 and alt != "."
    return snps


def _open(path: Path) -> TextIO:
    return gzip.open(path, "rt") if path.name.endswith(".gz") else path.open()


def check_sites_vcf(path: str | Path, reference: Mapping[str, int], what: str, *, records: bool) -> None:
    """ReferenceError starting with `what` (the config key) and the file when the VCF is missing,
    unreadable, not indexed, not a VCF, or names a contig the reference lacks or gives it another
    length. Header-only (records=False), it must have ##contig lines to be checked at all; with records,
    every record's contig is checked too and at least one biallelic SNP is required."""
    vcf = Path(path)
    where = f"{what}: {vcf}"
    if not vcf.is_file():
        raise ReferenceError(f"{where}: file not found")
    if not os.access(vcf, os.R_OK):
        raise ReferenceError(f"{where}: cannot be read (permission denied)")
    if sites_index(vcf) is None:
        gz = vcf.name.endswith(".gz")
        expected = " or ".join(f"{vcf}{s}" for s in INDEXES[gz])
        tool = "tabix -p vcf" if gz else "gatk IndexFeatureFile -I"
        raise ReferenceError(f"{where}: not indexed: no {expected} (make one with {tool} {vcf})")
    try:
        with _open(vcf) as fh:
            lines = enumerate(fh, start=1)
            contigs = _header_contigs(lines, where)
            if not contigs and not records:
                raise ReferenceError(
                    f"{where}: has no ##contig header lines: its build cannot be checked against the "
                    "reference (add them, e.g. with bcftools reheader --fai)"
                )
            if problems := _header_problems(contigs, reference):
                more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
                raise ReferenceError(
                    f"{where}: does not match the reference: {'; '.join(problems[:5])}{more}. "
                    "It looks like another build or assembly (or another contig naming, 'chr1' vs '1')."
                )
            if records and not _biallelic_snps(lines, reference, where):
                raise ReferenceError(f"{where}: no biallelic SNP")
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise ReferenceError(f"{where}: cannot be read: {error}") from None
