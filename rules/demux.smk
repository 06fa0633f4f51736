# From the sequencer's run folder to FASTQ (active only when the config sets run_folder).
#
# Everything is checked when the workflow is parsed (sample sheet against RunInfo.xml, run folder
# complete and consistent), so a bad run stops before any job. One job per lane converts into a work
# folder and then moves the FASTQs (+ .md5) to <outdir>/fastq/{sample}_L{lane}_R{1,2}.fastq.gz, which
# seqpipe.demux.handoff turns into the germline pipeline's units. The steps in Python go through
# scripts/workflow_step.py. seqpipe.demux is imported only for a run folder, so that a FASTQ run's
# parse does not pay for its imports.

# Run-QC files that MultiQC reads, a function of no argument; rules/qc.smk takes them as inputs.
demux_qc_files = list  # none without a run folder


if config.get("run_folder"):
    from functools import partial

    from seqpipe.demux import commands as demux_commands
    from seqpipe.demux.collect import fastq_layout
    from seqpipe.demux.handoff import qc_outputs, workflow_plan

    DEMUX = workflow_plan(config)
    demux_qc_files = partial(qc_outputs, DEMUX)
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
            conda:
                "../envs/python.yaml"
            params:
                run_folder=str(DEMUX.run_folder),
                locs_fixes=[
                    (str(fix.relative_path), fix.clusters)
                    for fix in DEMUX.check.locs_fixes
                ],
            script:
                "../scripts/workflow_step.py"

    # Illumina does not publish bcl-convert or bcl2fastq on conda channels: they run in nf-core's
    # containers (--sdm apptainer); envs/bcl2fastq.yaml is a community repackaging of Illumina's binary.
    DEMUX_CONTAINERS = {
        "bcl-convert": "docker://nfcore/bclconvert:4.3.6",
        "bcl2fastq": "docker://nfcore/bcl2fastq:2.20.0.422",
    }

    rule demux_convert_lane:
        input:
            staged=DEMUX_STAGED,
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
                work=f"{DEMUX_OUT}/demux/L{_lane.lane:03d}/work",
            output:
                fastq=DEMUX.lane_fastqs(_lane),
                md5=[f"{fq}.md5" for fq in DEMUX.lane_fastqs(_lane)],
                counts=f"{DEMUX_OUT}/demux/L{_lane.lane:03d}/counts.tsv",
                unknown=f"{DEMUX_OUT}/demux/L{_lane.lane:03d}/unknown_barcodes.tsv",
                hopping=f"{DEMUX_OUT}/demux/L{_lane.lane:03d}/index_hopping.tsv",
            log:
                f"{DEMUX_OUT}/logs/demux/L{_lane.lane:03d}.collect.log",
            benchmark:
                f"{DEMUX_OUT}/benchmarks/demux/L{_lane.lane:03d}.collect.tsv"
            conda:
                "../envs/python.yaml"
            params:
                layout=fastq_layout(DEMUX.settings.demultiplexer),
                lane=_lane.lane,
                barcodes=[list(barcode) for barcode in _lane.barcodes],
                reads=len(DEMUX.reads),
            script:
                "../scripts/workflow_step.py"

    rule demux_qc:
        input:
            expand(
                f"{DEMUX_OUT}/demux/L{{lane}}/{{name}}",
                lane=DEMUX_LANES,
                name=["counts.tsv", "unknown_barcodes.tsv", "index_hopping.tsv"],
            ),
        output:
            qc_outputs(DEMUX),
        log:
            f"{DEMUX_OUT}/logs/demux/qc.log",
        benchmark:
            f"{DEMUX_OUT}/benchmarks/demux/qc.tsv"
        # No conda env: reading InterOp needs Illumina's `interop` package, which the pipeline's own
        # Python has (the `pipeline` extra) and envs/python.yaml does not pin.
        params:
            # the plan is made again in the job, from the same settings
            settings={key: config.get(key) for key in ("run_folder", "demux", "outdir")},
        script:
            "../scripts/workflow_step.py"
