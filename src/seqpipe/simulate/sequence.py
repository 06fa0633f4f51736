"""Random DNA and the mutations that make repeat copies diverge; all draws come from a given RNG."""

from __future__ import annotations

import hashlib
import random

BASES = "ACGT"
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")
TRANSITION = {"A": "G", "G": "A", "C": "T", "T": "C"}
TRANSVERSIONS = {"A": "CT", "G": "CT", "C": "AG", "T": "AG"}


def derive_seed(seed: int, *labels: object) -> int:
    """A 31-bit seed for one named stream (stable across Python versions, unlike hash())."""
    text = ":".join(str(x) for x in (seed, *labels)).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:4], "big") & 0x7FFFFFFF


def rng_for(seed: int, *labels: object) -> random.Random:
    return random.Random(derive_seed(seed, *labels))


def random_dna(rng: random.Random, length: int, gc: float) -> str:
    at, cg = (1 - gc) / 2, gc / 2
    return "".join(rng.choices(BASES, weights=(at, cg, cg, at), k=length))


def reverse_complement(seq: str) -> str:
    return seq.translate(_COMPLEMENT)[::-1]


def substitute(rng: random.Random, base: str) -> str:
    """A point mutation with Ts/Tv ≈ 2: a transition two times in three."""
    return TRANSITION[base] if rng.random() < 2 / 3 else rng.choice(TRANSVERSIONS[base])


def diverge(rng: random.Random, seq: str, rate: float, indel_share: float = 0.1) -> str:
    """Copy `seq` with `rate` mutations per base: mostly substitutions, some 1–3 bp indels."""
    if rate <= 0 or not seq:
        return seq
    out = list(seq)
    count = min(len(seq), max(1, round(rate * len(seq))))
    # Right to left so earlier positions stay valid while indels change the length.
    for pos in sorted(rng.sample(range(len(seq)), count), reverse=True):
        if rng.random() >= indel_share:
            out[pos] = substitute(rng, out[pos])
        elif rng.random() < 0.5:
            del out[pos : pos + rng.randint(1, 3)]
        else:
            out[pos] += random_dna(rng, rng.randint(1, 3), 0.5)
    return "".join(out)
