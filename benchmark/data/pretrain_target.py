"""An optional target for pre-training tasks: a held-out split of one domain.

`--target DOMAIN` (or `data.target: {domain: D, blocks: N}`) takes the last N training blocks of
domain D out of its training stream; they are the target that gradient-reward methods (EXP3-FLAD,
UCB1-FLAD) align the mixture with. They are never trained on as ordinary data, and the validation
and test splits are untouched, so the target is never the test split.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..errors import ConfigError

DEFAULT_TARGET_BLOCKS = 16


def target_section(domain: str, blocks: int = DEFAULT_TARGET_BLOCKS) -> dict[str, Any]:
    return {"domain": domain, "blocks": blocks}


def hold_out_target(data: Any, spec: dict[str, Any]) -> tuple[Any, np.ndarray]:
    """(the data without the target blocks in training, the target blocks)."""
    domain, blocks = spec.get("domain"), spec.get("blocks", DEFAULT_TARGET_BLOCKS)
    if domain not in data.domains:
        raise ConfigError(f"data.target.domain: {domain!r} is not a domain of this task; domains: "
                          f"{', '.join(data.domains)}")
    index = data.domains.index(domain)
    train = data.train_blocks[index]
    if not isinstance(blocks, int) or isinstance(blocks, bool) or not 0 < blocks < len(train):
        raise ConfigError(f"data.target.blocks: must be an integer in [1, {len(train) - 1}], got {blocks!r}")
    kept, target = train[:-blocks], train[-blocks:]
    train_blocks = [kept if i == index else b for i, b in enumerate(data.train_blocks)]
    sizes = list(data.sizes)
    sizes[index] = int(kept.size)
    manifest = {**data.manifest, "target": {"domain": domain, "blocks": blocks, "held_out_from": "train"}}
    return dataclasses.replace(data, train_blocks=train_blocks, sizes=sizes, manifest=manifest), np.asarray(target)
