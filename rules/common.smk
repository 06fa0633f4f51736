import os
from pathlib import Path

from snakemake.utils import validate

from snakemake import __version__ as SNAKEMAKE_VERSION

from seqpipe.provenance import VERSION_COMMANDS, tools_used
from seqpipe.sheets import load_sheets, sheets_from_records

validate(config, workflow.source_path("../config/schemas/config.schema.yaml"))

OUTDIR = config["outdir"].rstrip("/")
SCHEMAS = Path(workflow.basedir) / "config" / "schemas"
CALLING = config["calling"]
CALLERS = CALLING["callers"]
SCATTER = CALLING["scatter"]
THREADS = config["mapping"]["threads"]
if CALLING["gatk"]["bqsr"] and not CALLING["gatk"]["known_sites"]:
    raise ValueError(
        "config: calling.gatk.bqsr is true but calling.gatk.known_sites lists no VCF of known variants"
    )


def _load_inputs():
    """Samples and units: from the run folder's sample sheet when one is given, else from the TSVs."""
    if config.get("run_folder"):
        from seqpipe.demux.handoff import samples_and_units

        samples, units = samples_and_units(config)
        return sheets_from_records(samples, units)
    # Under a default storage provider (S3, and in every AWS Batch job) the FASTQs are not local.
    local_files = workflow.storage_settings.default_storage_provider is None
    return load_sheets(
        config["samples"], config["units"], SCHEMAS, check_files=local_files
    )


SHEETS = _load_inputs()
SAMPLES = sorted(SHEETS.samples)
GROUPS = SHEETS.groups()


wildcard_constraints:
    sample="|".join(SAMPLES),
    unit="[A-Za-z0-9][A-Za-z0-9_.-]*",
    caller="|".join(CALLERS),
    chunk=r"\d+",
    read="R1|R2",


def out(path):
    """A path under the run's output folder."""
    return f"{OUTDIR}/{path}"


def log_of(path):
    return f"{OUTDIR}/logs/{path}.log"


def benchmark_of(path):
    return f"{OUTDIR}/benchmarks/{path}.tsv"


REFERENCE = out("reference/genome.fa")
CHUNKS = [f"{i:03d}" for i in range(SCATTER)]


def unit_of(wildcards):
    return SHEETS.units[(wildcards.sample, wildcards.unit)]


def units_of(sample):
    return SHEETS.units_of(sample)


def cram_outputs():
    return expand(
        out("cram/{sample}.{ext}"),
        sample=SAMPLES,
        ext=["cram", "cram.crai", "cram.md5"],
    )


def vcf_outputs():
    files = expand(out("vcf/{sample}.{caller}.vcf.gz"), sample=SAMPLES, caller=CALLERS)
    if CALLING["joint"]:
        files += expand(
            out("vcf/joint/{group}.{caller}.vcf.gz"), group=GROUPS, caller=CALLERS
        )
    if "gatk" in CALLERS:
        files += expand(out("vcf/gvcf/{sample}.gatk.g.vcf.gz"), sample=SAMPLES)
    return files + [f"{f}.tbi" for f in files]


def final_outputs():
    return [
        *cram_outputs(),
        *vcf_outputs(),
        out("qc/multiqc_report.html"),
        out("qc/qc_summary.tsv"),
        out("qc/qc_summary.json"),
        out("manifest/run_manifest.json"),
        out("reference/genome.dict"),
    ]


# Calling: per sample or, with calling.joint, per group of samples.
wildcard_constraints:
    scope="sample|joint",
    group="|".join(GROUPS),


def samples_in(scope, name):
    return [name] if scope == "sample" else GROUPS[name]


def analysis_bam(sample):
    if "gatk" in CALLERS and CALLING["gatk"]["bqsr"]:
        return out(f"align/{sample}.recal.bam")
    return out(f"align/{sample}.markdup.bam")


def bams_for(wc):
    names = samples_in(wc.scope, wc.name)
    return expand(out("align/{sample}.markdup.bam"), sample=names)


def chunk_calls(caller, scope, name):
    # DeepVariant writes a VCF per sample and chunk; every other path ends in BCF.
    ext = "vcf.gz" if (caller, scope) == ("deepvariant", "sample") else "bcf"
    return expand(out(f"calls/{caller}/{scope}/{name}.{{chunk}}.{ext}"), chunk=CHUNKS)


CALLING_INPUT = dict(
    bams=bams_for,
    bais=lambda wc: [f"{b}.bai" for b in bams_for(wc)],
    reference=REFERENCE,
    fai=f"{REFERENCE}.fai",
    bed=out("reference/chunks/{chunk}.bed"),
)


def stats_of_vcfs():
    """bcftools stats files, one per VCF the run produces (joint VCFs included)."""
    return [
        f.replace(out("vcf/"), out("qc/bcftools/")).replace(".vcf.gz", ".stats")
        for f in vcf_outputs()
        if f.endswith(".vcf.gz") and not f.endswith(".g.vcf.gz")
    ]


TOOLS = tools_used(config)


wildcard_constraints:
    tool="|".join(VERSION_COMMANDS),
