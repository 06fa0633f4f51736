"""Seeded demo data: a synthetic reference with difficult regions, truth VCFs, ART reads and strata."""

from seqpipe.simulate.run import SimulationParams, simulate
from seqpipe.simulate.variants import TruthRates

__all__ = ["SimulationParams", "TruthRates", "simulate"]
