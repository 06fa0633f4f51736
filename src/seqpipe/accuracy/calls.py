"""Reading a VCF for comparison: checks that name the file, then `bcftools norm` and the sample's calls."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from seqpipe.reference.contigs import contig_lengths


class AccuracyInputError(ValueError):
    """A truth, query, reference or strata file that cannot be compared; the message names the file."""


@dataclass(frozen=True)
class Call:
    """One ALT allele of one sample after `bcftools norm -m- -a`; `pos` is 1-based like VCF."""

    chrom: str
    pos: int
    ref: str
    alt: str
    het: bool
    qual: float | None
    passed: bool

    @property
    def kind(self) -> str:
        return "SNV" if len(self.ref) == 1 and len(self.alt) == 1 else "indel"

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.chrom, self.pos, self.ref, self.alt)

    @property
    def end(self) -> int:
        """1-based inclusive last REF base."""
        return self.pos + len(self.ref) - 1


def _bcftools(args: list[str], path: Path, role: str, shown: Path) -> str:
    done = subprocess.run(["bcftools", *args, str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()
        raise AccuracyInputError(
            f"{role} VCF {shown} is not a readable VCF/BCF: {detail[-1] if detail else 'error'}"
        )
    return done.stdout


def reference_contigs(reference: Path) -> dict[str, int]:
    """Contig -> length of the reference (its .fai, else counted in the FASTA)."""
    if not reference.is_file():
        raise AccuracyInputError(f"reference FASTA not found: {reference}")
    with reference.open("rb") as f:
        if f.read(1) != b">":
            raise AccuracyInputError(f"reference {reference} is not a FASTA file (no '>' header on line 1)")
    return contig_lengths(reference)


def check_vcf(
    path: Path,
    role: str,
    wanted: str | None,
    reference: Path,
    ref_contigs: dict[str, int],
    shown: Path | None = None,
) -> str:
    """Check the VCF can be compared and return the sample to read (`wanted`, or the only one).

    `shown` is the file messages name when `path` is a repaired copy of it."""
    shown = shown or path
    if not path.is_file():
        raise AccuracyInputError(f"{role} VCF not found: {shown}")
    header = _bcftools(["view", "-h"], path, role, shown).splitlines()
    samples = header[-1].split("\t")[9:] if header and header[-1].startswith("#CHROM") else []
    if not samples:
        raise AccuracyInputError(f"{role} VCF {shown} has no sample column (genotypes are needed)")
    if wanted is not None and wanted not in samples:
        raise AccuracyInputError(
            f"sample '{wanted}' is not in {role} VCF {shown} (it has: {', '.join(samples)})"
        )
    if wanted is None and len(samples) > 1:
        raise AccuracyInputError(
            f"{role} VCF {shown} has {len(samples)} samples ({', '.join(samples)}); choose one with --sample"
        )
    used = set(_bcftools(["query", "-f", "%CHROM\\n"], path, role, shown).split())
    missing = sorted(used - ref_contigs.keys())
    if missing:
        raise AccuracyInputError(
            f"{role} VCF {shown} uses contig(s) not in reference {reference}: {', '.join(missing[:5])} "
            "(wrong reference?)"
        )
    return wanted or samples[0]


def _parse(line: str) -> Call | None:
    chrom, pos, ref, alt, qual, filters, gt = line.split("\t")
    alleles = gt.replace("|", "/").split("/")
    # After splitting, this record's ALT is allele 1; freebayes' 0/0 sites and '*' alleles carry no call.
    if "1" not in alleles or alt in ("*", "."):
        return None
    return Call(
        chrom=chrom,
        pos=int(pos),
        ref=ref.upper(),
        alt=alt.upper(),
        het=any(a != "1" for a in alleles),
        qual=None if qual == "." else float(qual),
        passed=filters in ("PASS", "."),
    )


def _pipeline(commands: list[list[str]]) -> tuple[str, str | None]:
    """Run commands piped together; returns stdout of the last and the stderr of the first that failed."""
    with contextlib.ExitStack() as stack:
        errors = [stack.enter_context(tempfile.TemporaryFile("w+")) for _ in commands]
        procs: list[subprocess.Popen] = []
        for command, err in zip(commands, errors, strict=True):
            stdin = procs[-1].stdout if procs else None
            procs.append(
                subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, stderr=err, text=True)
            )
            if stdin is not None:
                stdin.close()  # the next process holds it now; closing lets SIGPIPE reach the writer
        out, _ = procs[-1].communicate()
        for proc, err in zip(procs, errors, strict=True):
            if proc.wait() != 0:
                err.seek(0)
                lines = [x for x in err.read().splitlines() if x.strip() and not x.startswith("[W::")]
                return out, next(
                    (x for x in lines if "mismatch" in x.lower()), lines[-1] if lines else "error"
                )
        return out, None


def load_calls(path: Path, role: str, sample: str, reference: Path, shown: Path | None = None) -> list[Call]:
    """The sample's ALT calls: one allele per record, atomized, left-aligned against the reference.

    `shown` is the file messages name when `path` is a repaired copy of it."""
    out, failure = _pipeline(
        [
            ["bcftools", "view", "--no-version", "-s", sample, "--trim-alt-alleles", "-Ou", str(path)],
            [
                "bcftools",
                "norm",
                "--no-version",
                "-f",
                str(reference),
                "-m-",
                "-a",
                "--atom-overlaps",
                ".",
                "-Ou",
                "-",
            ],
            ["bcftools", "query", "-f", "%CHROM\\t%POS\\t%REF\\t%ALT\\t%QUAL\\t%FILTER[\\t%GT]\\n", "-"],
        ]
    )
    if failure is not None:
        raise AccuracyInputError(
            f"normalizing {role} VCF {shown or path} against {reference} failed: {failure}"
        )
    calls = (_parse(line) for line in out.splitlines())
    return [c for c in calls if c is not None]
