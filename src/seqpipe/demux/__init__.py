"""From the sequencer's run folder to FASTQ: run-folder checks, sample sheets, demultiplexing, run QC."""
