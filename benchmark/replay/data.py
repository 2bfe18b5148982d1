"""Read a replay data directory: training and test CSV pairs, aligned by domain name.

A directory holds `train_mixture_<scale>.csv` + `train_pile_loss_<scale>.csv` (exactly one pair)
and any number of `test_mixture_<scale>.csv` + `test_pile_loss_<scale>.csv` pairs. Mixture files
have columns `train_the_pile_<domain>`, loss files `metric/the_pile_<domain>_val_loss`; both may
start with an `index` column, which must then agree row by row between the two files of a pair.
"""

from __future__ import annotations

import csv
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import ConfigError

MIXTURE_PREFIX = "train_the_pile_"
LOSS_PREFIX, LOSS_SUFFIX = "metric/the_pile_", "_val_loss"
INDEX = "index"
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([kmbt]?)$", re.IGNORECASE)
_UNITS = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


class ReplayDataError(ConfigError):
    """A replay CSV is missing or malformed; the message names the file (and column or row)."""


@dataclass(frozen=True)
class Split:
    """Runs of one split: mixtures (n × domains) and measured losses (n × loss domains)."""

    name: str
    domains: tuple[str, ...]
    mixtures: np.ndarray
    loss_domains: tuple[str, ...]
    losses: np.ndarray

    def target(self, domain: str) -> np.ndarray:
        """The measured loss on one validation domain, one value per run."""
        return self.losses[:, self.loss_domains.index(domain)]


@dataclass(frozen=True)
class ReplayData:
    source: Path
    train: Split
    tests: dict[str, Split]   # scale label -> split, smallest model first


def default_data_dir() -> Path:
    """RegMix's published logs, shipped with the package (tasks/replay/regmix)."""
    from ..paths import resource_dir
    return resource_dir("tasks") / "replay" / "regmix"


def read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    """Header and float matrix of a CSV; raises ReplayDataError naming the file, row and column."""
    try:
        with path.open(newline="") as handle:
            rows = [row for row in csv.reader(handle) if row]
    except OSError as exc:
        raise ReplayDataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(rows) < 2:
        raise ReplayDataError(f"{path}: needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    values = np.empty((len(rows) - 1, len(header)))
    for r, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ReplayDataError(f"{path}: row {r} has {len(row)} fields, the header has {len(header)}")
        for c, cell in enumerate(row):
            try:
                values[r - 2, c] = float(cell)
            except ValueError:
                raise ReplayDataError(f"{path}: row {r}, column {header[c]!r}: {cell!r} is not a number") from None
    if not np.isfinite(values).all():
        raise ReplayDataError(f"{path}: contains NaN or infinite values")
    return header, values


def split_columns(path: Path, header: list[str], prefix: str, suffix: str = "") -> tuple[list[str], list[int]]:
    """Domain names and column positions of the data columns (all but `index`)."""
    domains, positions = [], []
    for i, name in enumerate(header):
        if name == INDEX:
            continue
        if not (name.startswith(prefix) and name.endswith(suffix) and len(name) > len(prefix) + len(suffix)):
            raise ReplayDataError(f"{path}: column {name!r} is not of the form '{prefix}<domain>{suffix}'")
        domains.append(name[len(prefix):len(name) - len(suffix)])
        positions.append(i)
    if len(set(domains)) != len(domains):
        raise ReplayDataError(f"{path}: a domain column appears twice")
    if not domains:
        raise ReplayDataError(f"{path}: no '{prefix}<domain>{suffix}' columns")
    return domains, positions


def read_pair(name: str, mixture_path: Path, loss_path: Path) -> Split:
    """One split from its mixture file and its loss file, rows matched by `index` when present."""
    mix_header, mix = read_csv(mixture_path)
    loss_header, loss = read_csv(loss_path)
    domains, mix_cols = split_columns(mixture_path, mix_header, MIXTURE_PREFIX)
    loss_domains, loss_cols = split_columns(loss_path, loss_header, LOSS_PREFIX, LOSS_SUFFIX)
    if len(mix) != len(loss):
        raise ReplayDataError(f"{loss_path}: {len(loss)} rows but {mixture_path.name} has {len(mix)}")
    if INDEX in mix_header and INDEX in loss_header:
        if not np.array_equal(mix[:, mix_header.index(INDEX)], loss[:, loss_header.index(INDEX)]):
            raise ReplayDataError(f"{loss_path}: column 'index' does not match {mixture_path.name} row by row")
    if (mix[:, mix_cols] < 0).any():
        raise ReplayDataError(f"{mixture_path}: negative mixture weight")
    return Split(name, tuple(domains), mix[:, mix_cols], tuple(loss_domains), loss[:, loss_cols])


def align(split: Split, domains: tuple[str, ...], path: Path) -> Split:
    """Reorder a split's mixture columns to `domains` (the training order), matching by name."""
    missing = [d for d in domains if d not in split.domains]
    extra = [d for d in split.domains if d not in domains]
    if missing or extra:
        detail = "; ".join(filter(None, [missing and f"missing {', '.join(missing)}",
                                         extra and f"unknown {', '.join(extra)}"]))
        raise ReplayDataError(f"{path}: domain columns differ from the training mixtures ({detail})")
    order = [split.domains.index(d) for d in domains]
    return Split(split.name, domains, split.mixtures[:, order], split.loss_domains, split.losses)


def scale_key(label: str) -> float:
    """Sort key for a scale label such as 1m, 60M, 1B (unparseable labels sort last)."""
    match = _SIZE.match(label)
    return float(match.group(1)) * _UNITS[match.group(2).lower()] if match else float("inf")


def find_pairs(directory: Path, kind: str) -> list[tuple[str, Path, Path]]:
    """(scale, mixture file, loss file) for every `<kind>_mixture_<scale>.csv` in the directory."""
    pairs = []
    for mixture in sorted(directory.glob(f"{kind}_mixture_*.csv")):
        scale = mixture.stem[len(f"{kind}_mixture_"):]
        loss = directory / f"{kind}_pile_loss_{scale}.csv"
        if not loss.is_file():
            raise ReplayDataError(f"{loss}: not found (needed for {mixture.name})")
        pairs.append((scale, mixture, loss))
    return sorted(pairs, key=lambda p: scale_key(p[0]))


def load_replay_data(data_dir: Path | str | None = None) -> ReplayData:
    """Training runs and test splits of a data directory (default: RegMix's logs)."""
    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    if not directory.is_dir():
        raise ReplayDataError(f"{directory}: not a directory")
    train_pairs = find_pairs(directory, "train")
    if len(train_pairs) != 1:
        raise ReplayDataError(f"{directory}: needs exactly one train_mixture_<scale>.csv with its "
                              f"train_pile_loss_<scale>.csv, found {len(train_pairs)}")
    scale, mixture, loss = train_pairs[0]
    train = read_pair(f"train {scale}", mixture, loss)
    tests = {label.upper(): align(read_pair(label.upper(), m, lo), train.domains, m)
             for label, m, lo in find_pairs(directory, "test")}
    if not tests:
        raise ReplayDataError(f"{directory}: no test_mixture_<scale>.csv files")
    return ReplayData(directory, train, tests)


def normalise_domain(name: str) -> str:
    """'Pile-CC', 'pile_cc' and 'metric/the_pile_pile_cc_val_loss' all name domain 'pile_cc'."""
    name = name.strip()
    if name.startswith(LOSS_PREFIX) and name.endswith(LOSS_SUFFIX):
        name = name[len(LOSS_PREFIX):-len(LOSS_SUFFIX)]
    return re.sub(r"[\s\-]+", "_", name).lower()


def resolve_target(name: str, data: ReplayData) -> str:
    """The loss domain named by `--target`, present in the training split and every test split."""
    domain = normalise_domain(name)
    available = [d for d in data.train.loss_domains if all(d in s.loss_domains for s in data.tests.values())]
    if domain not in available:
        close = difflib.get_close_matches(domain, available, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; available: {', '.join(available)}"
        raise ReplayDataError(f"target: no loss column for {name!r} in every file of {data.source}{hint}")
    return domain
