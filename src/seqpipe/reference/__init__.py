"""What the pipeline knows about a reference beyond its sequence: the contigs to call, its N gaps, bwa's
ALT contigs and the sex chromosomes' pseudoautosomal regions (docs/human-genomes.md)."""
