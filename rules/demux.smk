# BCL run folder → FASTQ (active only when config sets run_folder).


def demux_qc_files():
    """Run-QC files of the demultiplexing stage that MultiQC reads (none without a run folder)."""
    return []
