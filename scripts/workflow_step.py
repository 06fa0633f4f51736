"""The workflow's own Python steps, run by Snakemake's `script:` directive.

One script for every such rule, dispatching on the rule's name, so the bootstrap below exists once.
A `script:` job starts a plain Python process; a `run:` job would start a whole Snakemake process.
"""

import sys
from pathlib import Path

# The workflow's package, importable from its checkout in any environment (venv or --sdm conda)
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821 (injected by Snakemake)

from seqpipe.chunks import write_chunk_beds
from seqpipe.provenance import write_run_manifest, write_versions_for_multiqc
from seqpipe.qc.summary import summarize_qc

smk = snakemake  # noqa: F821
sys.stderr = open(smk.log[0], "w")  # noqa: SIM115 (lives as long as the script)

if smk.rule == "split_reference":
    write_chunk_beds(smk.input[0], list(smk.output))
elif smk.rule == "collect_software_versions":
    write_versions_for_multiqc(smk.input, smk.output[0])
elif smk.rule == "summarize_qc":
    summarize_qc(
        smk.params.samples,
        smk.params.callers,
        smk.input.flagstat,
        smk.input.mosdepth,
        smk.input.markdup,
        smk.input.variant_stats,
        smk.params.thresholds,
        smk.output.tsv,
        smk.output.multiqc,
        smk.output.json,
        demux_verdicts=smk.input.demux,
    )
elif smk.rule == "write_run_manifest":
    write_run_manifest(
        smk.params.config,
        smk.input.versions,
        [*smk.input.reads, smk.input.reference],
        smk.input.results,
        smk.params.workflow_dir,
        smk.params.snakemake_version,
        smk.output[0],
    )
else:
    raise ValueError(f"workflow_step.py has no step for rule {smk.rule}")
