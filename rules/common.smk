import os
from pathlib import Path

from snakemake.utils import validate

from snakemake import __version__ as SNAKEMAKE_VERSION

from seqpipe.gatk_hard_filters import caller_filters
from seqpipe.provenance import VERSION_COMMANDS, tools_used
from seqpipe.reference.checks import check_reference
from seqpipe.reference.contigs import contig_lengths
from seqpipe.reference.sites_vcf import check_sites_vcf, sites_index
from seqpipe.reference.sex_chromosomes import SexChromosomes
from seqpipe.sheets import load_sheets, sheets_from_records

validate(config, workflow.source_path("../config/schemas/config.schema.yaml"))

OUTDIR = config["outdir"].rstrip("/")
SCHEMAS = Path(workflow.basedir) / "config" / "schemas"
CALLING = config["calling"]
CALLERS = CALLING["callers"]
SCATTER = CALLING["scatter"]
THREADS = config["mapping"]["threads"]
SEX_CHROMOSOMES = SexChromosomes.from_config(config["reference"])
# Base-quality recalibration of GATK's input, against known sites checked here, before any job (at the
# head: a cloud job parses the workflow without the user's files).
BQSR = "gatk" in CALLERS and CALLING["gatk"]["bqsr"]
KNOWN_SITES = CALLING["gatk"]["known_sites"]
if BQSR and not KNOWN_SITES:
    raise ValueError(
        "config: calling.gatk.bqsr is true but calling.gatk.known_sites lists no VCF of known variants"
    )
if BQSR and os.path.exists(config["reference"]["fasta"]):
    for known in KNOWN_SITES:
        check_sites_vcf(
            known,
            contig_lengths(config["reference"]["fasta"]),
            "calling.gatk.known_sites",
            records=False,
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
# Each sample's declared sex; 'unknown' ones are called with the sex inferred from their data.
DECLARED_SEX = {name: s.sex for name, s in SHEETS.samples.items()}


def sex_inputs(names):
    """The inferred sex of those of `names` whose sheet says 'unknown' (the others need none)."""
    return [out(f"qc/sex/{n}.sex.json") for n in names if DECLARED_SEX[n] == "unknown"]


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
# The callers that write a gVCF per sample, which joint genotyping combines.
GVCF_CALLERS = ("gatk", "deepvariant")
CHUNKS = [f"{i:03d}" for i in range(SCATTER)]


# Under a default storage provider (S3: the "s3" and "aws-batch" engines) every file is an object and a
# job starts without the run's files. What moves is chosen here (docs/scaling.md): a job reads the
# CRAMs it needs in place (htslib ranged reads) and the reference from its host's cache; only the
# alignment job reads the FASTQs, and the unit BAMs never leave the machine that made them.
STORAGE = workflow.storage_settings.default_storage_provider is not None


def object_url(path):
    """The s3:// URL of a workflow path under S3 storage."""
    prefix = workflow.storage_settings.default_storage_prefix.rstrip("/")
    return f"{prefix}/{os.path.normpath(path)}"


def in_place(paths):
    """Input files a job reads where they lie: under S3 storage the objects, which Snakemake checks
    but does not download (the command reads them through read_in_place or the reference cache).
    """
    if not STORAGE:
        return paths
    if isinstance(paths, str):
        return storage(object_url(paths), retrieve=False)
    return [storage(object_url(p), retrieve=False) for p in paths]


def read_in_place(files):
    """Prefix of a command that reads `files` (a placeholder such as "{input.cram}") with htslib: under
    S3 storage each is replaced by its object's URL unless this job holds a current local copy.
    """
    return f"python -m seqpipe.storage.htslib {files} -- " if STORAGE else ""


def reference_path(wildcards):
    """params.reference: the FASTA as the tools are given it, REFERENCE on every engine (under S3
    storage a link into the host's cache, made by FROM_REFERENCE_CACHE, not the input's local path).
    """
    return REFERENCE


def reference_files(*extra):
    """Inputs of a job whose tools read the reference (as params.reference): the FASTA and `extra`
    bundle files; under S3 storage their objects and the bundle's manifest, read from the host cache.
    """
    files = [REFERENCE, *extra]
    return in_place([*files, BUNDLE_MANIFEST]) if STORAGE else files


def stream_region(bed):
    """Under S3 storage: shell that streams the alignments a tool reads as params.reads ({input.reads},
    within `bed` unless None) into params.reads, a job-local BAM, and indexes it; else nothing.
    """
    if not STORAGE:
        return ""
    region = f"-M -L {bed} " if bed else ""
    return (
        read_in_place("{input.reads}")
        + f"samtools view --no-PG -b {region}-T {{params.reference}} -o {{params.reads}} {{input.reads}} && "
        + "samtools index {params.reads} && "
    )


def unless_empty_chunk(command, outputs, bed="{input.bed}"):
    """Shell that runs `command` when the chunk `bed` holds a region, else leaves `outputs` (a
    space-separated list) as empty files. A reference with fewer regions (stretches between N gaps, or
    padded targets, which chunks never cut) than chunks has empty chunks, and callers refuse an empty
    region file (bcftools mpileup crashes, freebayes stops); the gathering steps skip empty files.
    """
    empty = " && ".join(f": > {output}" for output in outputs.split())
    return f"if [ -s {bed} ]; then {command}; else {empty}; fi"


def genotype_panel(reads, sites, bed, output):
    """Shell: one sample's genotype and allele depths (GT:AD) at the panel sites in the chunk `bed`,
    from `reads` (its CRAM, or the chunk's slice of it), as lines of CHROM, POS, GT:AD, gzipped;
    an empty file for an empty chunk. -R jumps to the sites through the reads' index, -T keeps
    those of the chunk; call -A keeps the panel's ALT allele, and so its reads, where the sample is
    called hom-ref (alone in the call, it would drop them, and with them the reads of foreign DNA the
    contamination estimate counts). Arguments are paths or placeholders such as "{input.bed}".
    """
    return unless_empty_chunk(
        f"bcftools mpileup --no-version -f {REFERENCE} -R {sites} -T {bed} -d 10000 -q 20 -Q 20 "
        f"-a FORMAT/AD,FORMAT/DP -Ou {reads} | "
        f"bcftools call --no-version -m -C alleles -A -T {sites} -Ou | "
        f"bcftools query -f '%CHROM\\t%POS[\\t%GT:%AD]\\n' | gzip -n > {output}",
        output,
        bed=bed,
    )


def non_empty(files):
    """Shell word list of `files` (a placeholder such as "{input.chunks}") without the empty ones."""
    return f'$(for f in {files}; do if [ -s "$f" ]; then echo "$f"; fi; done)'


def reads_for_tool(name):
    """params.reads: the CRAM itself, or (S3 storage) the job-local BAM stream_region writes."""
    return lambda wc, input, output: (
        f"{output[0]}.{name}.bam" if STORAGE else input.reads
    )


def calling_reads(wc, input):
    """params.reads of bcftools and FreeBayes: the CRAMs, or under S3 storage the chunk's slices of them
    (rules/calling.smk), in the scope's order."""
    if not STORAGE:
        return input.crams
    return [f"{input.slices}/{sample}.bam" for sample in samples_in(wc.scope, wc.name)]


def unit_of(wildcards):
    return SHEETS.units[(wildcards.sample, wildcards.unit)]


def units_of(sample):
    return SHEETS.units_of(sample)


def reads_of(sample):
    return [path for u in units_of(sample) for path in (u.fq1, u.fq2)]


def cram_files(sample):
    return [out(f"cram/{sample}.{ext}") for ext in ("cram", "cram.crai", "cram.md5")]


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
    # kept for joint genotyping: a sample added to a group recomputes no other's (rules/joint.smk)
    files += expand(
        out("vcf/gvcf/{sample}.{caller}.g.vcf.gz"),
        sample=SAMPLES,
        caller=[c for c in CALLERS if c in GVCF_CALLERS],
    )
    return files + [f"{f}.tbi" for f in files]


def final_outputs():
    return [
        out("qc/sex_check.tsv"),
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


def cram_of(sample):
    return out(f"cram/{sample}.cram")


def analysis_reads(sample):
    """The alignments callers read: the sample's CRAM or, with GATK's BQSR, its recalibrated copy."""
    if BQSR:
        return out(f"align/{sample}.recal.cram")
    return cram_of(sample)


def crams_for(wc):
    return [cram_of(name) for name in samples_in(wc.scope, wc.name)]


def chunk_calls(caller, scope, name):
    # DeepVariant writes a VCF per sample and chunk; every other path ends in BCF.
    ext = "vcf.gz" if (caller, scope) == ("deepvariant", "sample") else "bcf"
    return expand(out(f"calls/{caller}/{scope}/{name}.{{chunk}}.{ext}"), chunk=CHUNKS)


def group_gvcfs(caller):
    """Input function of joint genotyping (rules/joint.smk): the kept gVCFs of the group's samples, in
    the sheet's order."""
    return lambda wc: expand(
        out(f"vcf/gvcf/{{sample}}.{caller}.g.vcf.gz"), sample=GROUPS[wc.group]
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


# Targeted sequencing, amplicon mode and sample identity (rules/targets.smk, rules/identity.smk).
def target_qc_files(sample):
    """A sample's target-coverage files, in the order seqpipe.qc.summary reads them (none without targets)."""
    if not TARGETS:
        return []
    return [
        out(f"qc/targets/{sample}.mosdepth.summary.txt"),
        out(f"qc/targets/{sample}.mosdepth.region.dist.txt"),
        out(f"qc/targets/{sample}.thresholds.bed.gz"),
        out(f"qc/targets/{sample}.on_target.txt"),
    ]


def identity_verdict_files():
    """The identity and contamination verdict tables (none for a single sample: nothing to compare)."""
    if len(SAMPLES) < 2:
        return []
    return [out("qc/identity/identity_qc.tsv"), out("qc/identity/contamination_qc.tsv")]


def markdup_files():
    """Duplicate-marking reports; none in amplicon mode, which marks no duplicates."""
    if AMPLICON:
        return []
    return expand(out("qc/markdup/{sample}.markdup.txt"), sample=SAMPLES)
