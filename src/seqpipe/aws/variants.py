"""VCF processing from raw to processed: normalize, bgzip, index, summarize.

bcftools runs inside pysam (its bundled htslib/bcftools), so the Lambda needs no binaries.
Normalization splits multi-allelic records; with a reference FASTA it also left-aligns indels and
checks REF against the reference.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from typing import Any

from seqpipe.aws.layout import processed_vcf_outputs
from seqpipe.storage.s3 import S3Uri, client

TRANSITIONS = {frozenset("AG"), frozenset("CT")}


def summarize(path: str) -> dict[str, Any]:
    """Counts by variant type, Ts/Tv of SNVs, and het/hom-alt genotype counts per sample."""
    import pysam

    types: Counter[str] = Counter()
    ts = tv = 0
    with pysam.VariantFile(path) as vcf:
        samples = list(vcf.header.samples)
        genotypes = {s: Counter() for s in samples}
        for record in vcf:
            for alt in record.alts or ():
                if alt.startswith("<") or alt == "*":
                    types["other"] += 1
                elif len(alt) == len(record.ref) == 1:
                    types["snv"] += 1
                    if frozenset((record.ref.upper(), alt.upper())) in TRANSITIONS:
                        ts += 1
                    else:
                        tv += 1
                elif len(alt) == len(record.ref):
                    types["mnv"] += 1
                else:
                    types["indel"] += 1
            for sample in samples:
                alleles = [a for a in record.samples[sample].allele_indices or () if a is not None]
                if not alleles:
                    continue
                kind = "hom_ref" if set(alleles) == {0} else "het" if len(set(alleles)) > 1 else "hom_alt"
                genotypes[sample][kind] += 1
    return {
        "counts": dict(types),
        "ts": ts,
        "tv": tv,
        "tstv": round(ts / tv, 4) if tv else None,
        "genotypes": {
            s: {**dict(c), "het_hom_ratio": round(c["het"] / c["hom_alt"], 4) if c["hom_alt"] else None}
            for s, c in genotypes.items()
        },
    }


def normalize(source: str, target: str, reference: str | None = None) -> None:
    """bcftools norm to a BGZF VCF with a tabix index (target must end in .vcf.gz)."""
    import pysam
    import pysam.bcftools

    args = ["-m", "-any", "-O", "z", "-o", target]
    if reference:
        args += ["-f", reference, "-c", "w"]
    pysam.bcftools.norm(*args, source, catch_stdout=False)
    pysam.tabix_index(target, preset="vcf", force=True)


def process_vcf(raw: S3Uri, processed_bucket: str, reference: str | None = None) -> dict[str, Any]:
    """Normalize a raw VCF into the processed bucket with its index and a JSON summary beside it."""
    from seqpipe.validators import validate

    check = validate(str(raw))
    if not check.valid:
        # the validation handler quarantines it; normalizing a broken file would only fail later
        return {"source": str(raw), "skipped": True, "errors": [str(e) for e in check.errors]}
    s3 = client("s3")
    vcf_key, index_key, summary_key = processed_vcf_outputs(raw.key)
    target = S3Uri(processed_bucket, vcf_key)
    with tempfile.TemporaryDirectory(prefix="seqpipe-vcf-") as tmp:
        local_in = os.path.join(tmp, "input" + (".bcf" if raw.key.endswith(".bcf") else ".vcf.gz"))
        local_out = os.path.join(tmp, "normalized.vcf.gz")
        s3.download_file(raw.bucket, raw.key, local_in)
        normalize(local_in, local_out, reference)
        summary = summarize(local_out)
        summary.update(source=str(raw), output=str(target))
        s3.upload_file(local_out, target.bucket, target.key)
        s3.upload_file(local_out + ".tbi", target.bucket, index_key)
    s3.put_object(
        Bucket=target.bucket,
        Key=summary_key,
        Body=json.dumps(summary).encode(),
        ContentType="application/json",
    )
    return summary
