# From the sequencer's run folder to FASTQ (active only when the config sets run_folder).
#
# Everything is checked when the workflow is parsed (sample sheet against RunInfo.xml, run folder
# complete and consistent), so a bad run stops before any job. One job per lane converts into a work
# folder and then moves the FASTQs (+ .md5) to <outdir>/fastq/{sample}_L{lane}_R{1,2}.fastq.gz, which
# seqpipe.demux.handoff turns into the germline pipeline's units.


from functools import partial

from seqpipe.demux.handoff import qc_outputs

# Run-QC files that MultiQC reads (none without a run folder); rules/qc.smk takes them as inputs.
demux_qc_files = partial(qc_outputs, config)


if config.get("run_folder"):
    from pathlib import Path

    from seqpipe.demux import commands as demux_commands
    from seqpipe.demux.handoff import workflow_plan
    from seqpipe.demux.qc import QC_FILES
    from seqpipe.demux.runfolder import stage_run_folder

    DEMUX = workflow_plan(config)
    DEMUX_OUT = DEMUX.outdir
    DEMUX_LANES = {f"{lane.lane:03d}": lane for lane in DEMUX.lanes}
    DEMUX_STAGED = (
        [demux_commands.staged_run_folder(DEMUX)] if DEMUX.check.locs_fixes else []
    )

    if DEMUX_STAGED:

        rule demux_stage_run_folder:
            output:
                temp(directory(DEMUX_STAGED[0])),
            log:
                f"{DEMUX_OUT}/logs/demux/stage_run_folder.log",
            benchmark:
                f"{DEMUX_OUT}/benchmarks/demux/stage_run_folder.tsv"
            run:
                stage_run_folder(
                    DEMUX.run_folder, Path(output[0]), DEMUX.check.locs_fixes
                )
                Path(log[0]).write_text(
                    "".join(
                        f"{fix.relative_path}: header cluster count set to {fix.clusters}\n"
                        for fix in DEMUX.check.locs_fixes
                    )
                )

    # Illumina does not publish bcl-convert or bcl2fastq on conda channels: they run in nf-core's
    # containers (--sdm apptainer); envs/bcl2fastq.yaml is a community repackaging of Illumina's binary.
    DEMUX_CONTAINERS = {
        "bcl-convert": "docker://nfcore/bclconvert:4.3.6",
        "bcl2fastq": "docker://nfcore/bcl2fastq:2.20.0.422",
    }

    rule demux_convert_lane:
        input:
            DEMUX_STAGED,
        output:
            temp(directory(f"{DEMUX_OUT}/demux/L{{lane}}/work")),
        log:
            f"{DEMUX_OUT}/logs/demux/L{{lane}}.convert.log",
        benchmark:
            f"{DEMUX_OUT}/benchmarks/demux/L{{lane}}.convert.tsv"
        wildcard_constraints:
            lane=r"\d{3}",
        conda:
            f"../envs/{DEMUX.settings.demultiplexer}.yaml"
        container:
            DEMUX_CONTAINERS.get(DEMUX.settings.demultiplexer)
        threads: DEMUX.settings.threads
        params:
            command=lambda wildcards, threads: demux_commands.convert_command(
                DEMUX, DEMUX_LANES[wildcards.lane], threads
            ),
        shell:
            "({params.command}) > {log} 2>&1"

    for _lane in DEMUX.lanes:

        rule:
            name:
                f"demux_collect_lane_{_lane.lane}"
            input:
                f"{DEMUX_OUT}/demux/L{_lane.lane:03d}/work",
            output:
                fastq=DEMUX.lane_fastqs(_lane),
                md5=[f"{fq}.md5" for fq in DEMUX.lane_fastqs(_lane)],
                counts=f"{DEMUX_OUT}/demux/L{_lane.lane:03d}/counts.tsv",
                unknown=f"{DEMUX_OUT}/demux/L{_lane.lane:03d}/unknown_barcodes.tsv",
            log:
                f"{DEMUX_OUT}/logs/demux/L{_lane.lane:03d}.collect.log",
            benchmark:
                f"{DEMUX_OUT}/benchmarks/demux/L{_lane.lane:03d}.collect.tsv"
            params:
                command=demux_commands.collect_command(DEMUX, _lane),
            shell:
                "({params.command}) > {log} 2>&1"

    rule demux_qc:
        input:
            expand(
                f"{DEMUX_OUT}/demux/L{{lane}}/{{name}}",
                lane=DEMUX_LANES,
                name=["counts.tsv", "unknown_barcodes.tsv"],
            ),
        output:
            [f"{DEMUX_OUT}/qc/demux/{name}" for name in QC_FILES],
        log:
            f"{DEMUX_OUT}/logs/demux/qc.log",
        benchmark:
            f"{DEMUX_OUT}/benchmarks/demux/qc.tsv"
        params:
            command=demux_commands.qc_command(DEMUX, config),
        shell:
            "({params.command}) > {log} 2>&1"
