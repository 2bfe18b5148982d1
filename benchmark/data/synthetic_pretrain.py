"""The embedded pre-training benchmark: a synthetic, Pile-like multi-domain corpus.

Every domain is a first-order Markov chain over word tokens, so its irreducible per-token loss is
known exactly: the chain's entropy rate. The corpus is built so that the mixture matters:
  * Pile-like imbalance of sizes (the smallest domain is repeated for many epochs by up-sampling);
  * different entropies (branching factor and Dirichlet concentration per domain);
  * shared structure: members of a family mix a shared transition matrix with their own, so
    training on one helps the others;
  * one domain of pure noise (i.i.d. uniform tokens): learnable only down to log(support), so a
    method that chases high loss over-samples it.
Generation is deterministic from the seed (NumPy PCG64), takes about a second, and is identical on
any machine; a manifest hash over all token arrays is recorded in every result.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

SPECIAL_TOKENS = ("<pad>", "<eos>", "<unk>")


@dataclass(frozen=True)
class DomainSpec:
    name: str
    family: str            # domains of one family share a token range and a transition matrix
    train_sequences: int
    branching: int         # support size of each row of the domain's own transitions
    concentration: float   # Dirichlet concentration of the row probabilities
    shared: float = 0.0    # weight λ of the family's shared transition matrix
    noise: bool = False    # i.i.d. uniform tokens over the family range


# Family token ranges (word ids, before the special tokens).
FAMILY_RANGES = {
    "prose": (0, 160),
    "code": (160, 256),
    "math": (256, 288),
    "legal": (288, 384),
    "noise": (384, 512),
}
VOCAB_WORDS = 512

DEFAULT_DOMAINS: tuple[DomainSpec, ...] = (
    DomainSpec("web", "prose", 3000, branching=24, concentration=0.6, shared=0.7),
    DomainSpec("books", "prose", 1500, branching=10, concentration=0.6, shared=0.7),
    DomainSpec("wiki", "prose", 500, branching=6, concentration=0.6, shared=0.7),
    DomainSpec("emails", "prose", 40, branching=12, concentration=0.6, shared=0.4),
    DomainSpec("code", "code", 1200, branching=4, concentration=0.5, shared=0.8),
    DomainSpec("forum", "code", 300, branching=8, concentration=0.6, shared=0.5),
    DomainSpec("math", "math", 200, branching=2, concentration=0.5),
    DomainSpec("legal", "legal", 700, branching=12, concentration=0.6, shared=1.0),
    DomainSpec("medical", "legal", 120, branching=8, concentration=0.6, shared=0.3),
    DomainSpec("noise", "noise", 800, branching=0, concentration=0.0, noise=True),
)


def _sparse_rows(rng: np.random.Generator, size: int, branching: int, concentration: float) -> np.ndarray:
    """A row-stochastic [size, size] matrix; each row has `branching` non-zero entries."""
    matrix = np.zeros((size, size))
    for row in range(size):
        support = rng.choice(size, size=branching, replace=False)
        matrix[row, support] = rng.dirichlet(np.full(branching, concentration))
    return matrix


def stationary_distribution(transition: np.ndarray) -> np.ndarray:
    """Left eigenvector for eigenvalue 1, by power iteration on a lazy chain (always converges)."""
    size = transition.shape[0]
    lazy = 0.5 * (transition + np.eye(size))
    mu = np.full(size, 1.0 / size)
    for _ in range(10_000):
        nxt = mu @ lazy
        if np.abs(nxt - mu).sum() < 1e-13:
            break
        mu = nxt
    return nxt / nxt.sum()


def entropy_rate(transition: np.ndarray, mu: np.ndarray) -> float:
    """H = Σ_s μ(s) H(P(s, ·)) in nats: the irreducible per-token loss of the chain."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(transition > 0, np.log(transition), 0.0)
    return float(-(mu * (transition * logs).sum(axis=1)).sum())


@dataclass
class DomainChain:
    """One domain's generator over its family's token range (word ids offset by `low`)."""

    spec: DomainSpec
    low: int
    transition: np.ndarray
    stationary: np.ndarray

    @property
    def floor(self) -> float:
        return entropy_rate(self.transition, self.stationary)

    def sample(self, rng: np.random.Generator, count: int, length: int) -> np.ndarray:
        """`count` independent chain segments of `length` tokens, started from the stationary law."""
        size = self.transition.shape[0]
        out = np.empty((count, length), dtype=np.int64)
        state = rng.choice(size, size=count, p=self.stationary)
        out[:, 0] = state
        cumulative = np.cumsum(self.transition, axis=1)
        cumulative[:, -1] = 1.0
        for pos in range(1, length):
            u = rng.random(count)
            state = (cumulative[state] < u[:, None]).sum(axis=1)
            out[:, pos] = state
        return out + self.low


def build_chains(seed: int, specs: tuple[DomainSpec, ...] = DEFAULT_DOMAINS) -> list[DomainChain]:
    rng = np.random.Generator(np.random.PCG64(seed))
    shared: dict[str, np.ndarray] = {}
    for family, (low, high) in FAMILY_RANGES.items():
        shared[family] = _sparse_rows(rng, high - low, branching=8, concentration=0.6)
    chains = []
    for spec in specs:
        low, high = FAMILY_RANGES[spec.family]
        size = high - low
        if spec.noise:
            transition = np.full((size, size), 1.0 / size)
        else:
            own = _sparse_rows(rng, size, spec.branching, spec.concentration)
            transition = spec.shared * shared[spec.family] + (1.0 - spec.shared) * own
        chains.append(DomainChain(spec, low, transition, stationary_distribution(transition)))
    return chains


@dataclass
class SyntheticCorpus:
    """Token arrays per domain and split ([n, seq_len + 1] word ids), plus each domain's floor."""

    domains: list[str]
    splits: dict[str, dict[str, np.ndarray]]   # split -> domain -> tokens
    floors: dict[str, float]
    chains: list[DomainChain]

    def manifest_hash(self) -> str:
        digest = hashlib.sha256()
        for split in sorted(self.splits):
            for domain in self.domains:
                digest.update(f"{split}/{domain}".encode())
                digest.update(np.ascontiguousarray(self.splits[split][domain], dtype="<i8").tobytes())
        return digest.hexdigest()

    def sizes_in_tokens(self) -> list[int]:
        return [int(self.splits["train"][d].size) for d in self.domains]


def generate_corpus(seed: int, seq_len: int, val_sequences: int, test_sequences: int,
                    size_scale: float = 1.0, specs: tuple[DomainSpec, ...] = DEFAULT_DOMAINS) -> SyntheticCorpus:
    chains = build_chains(seed, specs)
    splits: dict[str, dict[str, np.ndarray]] = {"train": {}, "validation": {}, "test": {}}
    for index, chain in enumerate(chains):
        counts = {"train": max(4, int(round(chain.spec.train_sequences * size_scale))),
                  "validation": val_sequences, "test": test_sequences}
        for split_index, (split, count) in enumerate(counts.items()):
            # One independent stream per (domain, split): held-out sets never depend on the mixture.
            rng = np.random.Generator(np.random.PCG64([seed, index, split_index]))
            splits[split][chain.spec.name] = chain.sample(rng, count, seq_len + 1)
    return SyntheticCorpus([c.spec.name for c in chains], splits,
                           {c.spec.name: c.floor for c in chains}, chains)
