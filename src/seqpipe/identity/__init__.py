"""Sample identity QC: pairwise genotype concordance (duplicates, swaps, relatives) and the fraction of
foreign DNA per sample (contamination), each turned into per-sample verdicts for the QC summary."""
