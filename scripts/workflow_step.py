"""The workflow's own Python steps, run by Snakemake's `script:` directive.

One script for every such rule, dispatching on the rule's name, so the bootstrap below exists once.
A `script:` job starts a plain Python process; a `run:` job would start a whole Snakemake process.
"""

import sys
from pathlib import Path

# The workflow's package, importable from its checkout in any environment (venv or --sdm conda)
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821 (injected by Snakemake)

from seqpipe.chunks import write_reference_layout
from seqpipe.provenance import write_checksums, write_run_manifest, write_versions_for_multiqc
from seqpipe.qc.summary import summarize_qc
from seqpipe.reference.contigs import ContigSelection, write_contig_lengths
from seqpipe.reference.sex_chromosomes import SexChromosomes

smk = snakemake  # noqa: F821
sys.stderr = open(smk.log[0], "w")  # noqa: SIM115 (lives as long as the script)

if smk.rule == "split_reference":
    write_reference_layout(
        smk.input.fasta,
        smk.input.fai,
        smk.input.alt[0] if smk.input.alt else None,
        ContigSelection(**smk.params.contigs),
        SexChromosomes.from_config(smk.params.reference),
        list(smk.output.chunks),
        smk.output.callable,
        smk.output.x_non_par,
        smk.input.targets[0] if smk.input.targets else None,
    )
    write_contig_lengths(smk.input.fai, smk.output.contigs)
elif smk.rule == "infer_sex":
    from seqpipe.qc.sex import infer_sex, write_inference

    chromosomes = SexChromosomes.from_config(smk.params.reference)
    sample = smk.wildcards.sample
    inference = infer_sex(
        sample, chromosomes, smk.input.regions, smk.input.callable, smk.input.x_sites, smk.params.limits
    )
    write_inference(inference, smk.output[0])
elif smk.rule == "check_sex":
    from seqpipe.qc.sex import write_sex_checks

    write_sex_checks(smk.params.declared, list(smk.input), smk.output.verdicts, smk.output.multiqc)
elif smk.rule in ("write_ploidy", "write_gatk_intervals"):
    from seqpipe.ploidy import calling_sex, write_caller_ploidy, write_gatk_intervals

    chromosomes = SexChromosomes.from_config(smk.params.reference)
    inferred = {Path(p).name.removesuffix(".sex.json"): p for p in smk.input.inferred}
    if smk.rule == "write_ploidy":
        sexes = {name: calling_sex(sex, inferred.get(name)) for name, sex in smk.params.declared.items()}
        write_caller_ploidy(
            chromosomes,
            smk.input.contigs,
            sexes,
            smk.output.bcftools_ploidy,
            smk.output.bcftools_samples,
            smk.output.freebayes_cnv,
        )
    else:
        sex = calling_sex(smk.params.declared, inferred.get(smk.wildcards.sample))
        write_gatk_intervals(
            chromosomes, smk.input.contigs, sex, smk.input.chunks, smk.output.haploid, smk.output.diploid
        )
elif smk.rule == "prepare_targets":
    from seqpipe.targets import write_targets

    write_targets(smk.input.fai, smk.input.bed, smk.params.padding, smk.output.merged, smk.output.padded)
elif smk.rule == "gather_identity_panel":
    from seqpipe.identity.allele_depths import merge_panel_genotypes

    # the parts are expanded sample by sample, every chunk of a sample together
    chunks = len(smk.input.parts) // len(smk.params.samples)
    parts = {s: smk.input.parts[i * chunks : (i + 1) * chunks] for i, s in enumerate(smk.params.samples)}
    merge_panel_genotypes(parts, smk.input.sites, smk.output.depths)
elif smk.rule == "check_identity":
    from seqpipe.identity.checks import write_identity_qc

    write_identity_qc(
        smk.input.depths,
        smk.params.samples,
        smk.params.relatives,
        smk.params.settings,
        smk.output.identity,
        smk.output.contamination,
    )
elif smk.rule == "collect_software_versions":
    write_versions_for_multiqc(smk.input, smk.output[0])
elif smk.rule == "summarize_qc":
    summarize_qc(
        smk.params.samples,
        smk.params.callers,
        smk.input.fastp,
        smk.params.units,
        smk.input.flagstat,
        smk.input.mosdepth,
        smk.input.markdup,
        smk.input.variant_stats,
        smk.params.thresholds,
        smk.output.tsv,
        smk.output.multiqc,
        smk.output.json,
        verdict_files=smk.input.verdicts,
        target_files=smk.input.targets,
    )
# The reference bundle's manifest is read and written by the storage layer (boto3: imported only here).
elif smk.rule == "checksum_reference":
    from seqpipe.storage.reference_cache import write_manifest

    write_manifest(smk.input, smk.output[0])
elif smk.rule == "checksum_sample":
    write_checksums(smk.input.reads, smk.params.reads, smk.input.cram, smk.params.cram, smk.output[0])
elif smk.rule == "write_run_manifest":
    from seqpipe.storage.reference_cache import read_manifest

    bundle = read_manifest(Path(smk.input.bundle).read_text(), smk.input.bundle)
    (copy,) = [f for f in bundle if f.name == smk.params.reference_copy]
    write_run_manifest(
        smk.params.config,
        smk.input.versions,
        smk.input.checksums,
        {"path": smk.params.reference, "bytes": copy.size, "sha256": copy.sha256},
        smk.input.results,
        smk.params.results,
        smk.params.workflow_dir,
        smk.params.snakemake_version,
        smk.output[0],
    )
# The demultiplexing steps import seqpipe.demux only when they run (its settings schema costs ~0.1 s).
elif smk.rule == "demux_stage_run_folder":
    from seqpipe.demux.runfolder import LocsFix, stage_run_folder

    fixes = [LocsFix(Path(path), clusters) for path, clusters in smk.params.locs_fixes]
    stage_run_folder(Path(smk.params.run_folder), Path(smk.output[0]), fixes)
    for fix in fixes:
        print(f"{fix.relative_path}: header cluster count set to {fix.clusters}", file=sys.stderr)
elif smk.rule.startswith("demux_collect_lane_"):  # one rule per lane: each lane has its own samples
    from seqpipe.demux.collect import collect_lane

    collect_lane(
        Path(smk.input.work),
        smk.params.layout,
        smk.params.lane,
        [tuple(barcode) for barcode in smk.params.barcodes],
        Path(smk.output.fastq[0]).parent,
        Path(smk.output.counts).parent,
        smk.params.reads,
    )
elif smk.rule == "demux_qc":
    from seqpipe.demux.plan import load_plan
    from seqpipe.demux.qc import write_demux_qc

    lane_dirs = sorted({Path(path).parent for path in smk.input})
    write_demux_qc(load_plan(smk.params.settings), lane_dirs, Path(smk.output[0]).parent)
else:
    raise ValueError(f"workflow_step.py has no step for rule {smk.rule}")
