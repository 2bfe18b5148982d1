"""Safe YAML with YAML 1.2 numbers: `1e-3`, `3e-4` and `1.0e6` are floats.

PyYAML implements YAML 1.1, whose float pattern needs a dot in the mantissa, so `lr: 1e-3` would
load as the string '1e-3' and fail validation. Every task file, recipe, published table and
`--set` value is read through `safe_load` here.
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class Yaml12SafeLoader(yaml.SafeLoader):
    """yaml.SafeLoader whose implicit float resolver follows YAML 1.2's core schema."""


_FLOAT_12 = re.compile(r"""^(?:
    [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
   |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
   |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
   |[-+]?\.(?:inf|Inf|INF)
   |\.(?:nan|NaN|NAN))$""", re.X)

# Replace the YAML 1.1 float resolver (keyed by first character) with the 1.2 one.
Yaml12SafeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12SafeLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


def safe_load(text: str) -> Any:
    """`yaml.safe_load` with YAML 1.2 floats."""
    return yaml.load(text, Loader=Yaml12SafeLoader)  # noqa: S506 — a SafeLoader subclass
