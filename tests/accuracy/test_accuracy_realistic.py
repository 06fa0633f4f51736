"""End to end on generated data: simulate, align with bwa, call, and hold the accuracy floors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from seqpipe.accuracy import evaluate, strata_in_dir
from seqpipe.simulate import SimulationParams, TruthRates, simulate

# Denser truth than the demo default so a 200 kb genome still holds ~80 indels to score.
RATES = TruthRates(snv_per_kb=1.0, indel_per_kb=0.4)


def _sh(cmd: str) -> None:
    subprocess.run(["bash", "-o", "pipefail", "-c", cmd], check=True, capture_output=True)


@pytest.fixture(scope="module")
def aligned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("realistic") / "data"
    simulate(
        SimulationParams(
            outdir=data, seed=5, genome_size=200_000, samples=(("S1", 30.0),), units_per_sample=1, rates=RATES
        )
    )
    ref = data / "reference" / "genome.fa"
    reads = data / "reads"
    _sh(f"bwa index {ref}")
    _sh(
        f"bwa mem -t 2 -K 10000000 -R '@RG\\tID:S1\\tSM:S1' {ref} {reads}/S1_L001_R1.fastq.gz"
        f" {reads}/S1_L001_R2.fastq.gz"
        f" | samtools sort -o {data}/S1.bam - && samtools index {data}/S1.bam"
    )
    return data


CALLERS = {
    "bcftools": "bcftools mpileup -a AD,DP -f {ref} {bam} | bcftools call -mv -Oz -o {out}",
    "freebayes": "freebayes -f {ref} {bam} | bgzip > {out}",
}


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_calls_on_simulated_30x_reads_reach_the_f1_floors(aligned, caller):
    ref = aligned / "reference" / "genome.fa"
    out = aligned / f"S1.{caller}.vcf.gz"
    _sh(CALLERS[caller].format(ref=ref, bam=aligned / "S1.bam", out=out))
    result = evaluate(aligned / "truth" / "S1.vcf.gz", out, ref, strata=strata_in_dir(aligned / "strata"))
    snv, indel = result.metrics["all"]["SNV"], result.metrics["all"]["indel"]
    assert snv.tp + snv.fn == 200 and indel.tp + indel.fn == 80
    assert snv.f1 >= 0.99, result.table()
    assert indel.f1 >= 0.95, result.table()
    # Away from the engineered difficulty the callers are all but perfect at 30x.
    assert result.metrics["other"]["SNV"].recall >= 0.99, result.table()
