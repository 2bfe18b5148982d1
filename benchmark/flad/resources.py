"""What FLAD runs of one process share: the loaded arms (per data spec) and the base model weights
(per model spec), so a command over many methods, targets and seeds loads each once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..config import ConfigError
from .models import ModelBundle, embedded_base_model, hub_model

_DATA: dict[str, Any] = {}
_MODELS: dict[str, tuple[ModelBundle, dict[str, Any]]] = {}


def _key(*parts: Any) -> str:
    return json.dumps(parts, sort_keys=True, default=str)


def flad_data(spec: dict[str, Any], output_dir: Path) -> Any:
    from .runner import build_flad_data
    key = _key({k: v for k, v in spec.items() if k != "target"}, str(output_dir))   # shared by every target
    if key not in _DATA:
        _DATA[key] = build_flad_data(spec, output_dir / "flad" / "data")
    return _DATA[key]


def base_model(spec: dict[str, Any], data: Any, output_dir: Path) -> tuple[ModelBundle, dict[str, Any], list[dict[str, Any]]]:
    """The base model (shared by the runs of this process: each fit starts by loading the returned
    base weights into it), those weights, and the runs that built them in this call."""
    source = spec.get("source", "embedded")
    if source not in ("embedded", "hf"):
        raise ConfigError(f"model.source: must be embedded or hf, got {source!r}")
    if source == "hf":
        bundle = hub_model(spec)
        return bundle, {n: p.detach().clone() for n, p in bundle.model.state_dict().items()}, []
    if data.vocabulary is None:
        raise ConfigError("model.source: 'embedded' needs the embedded data builder (data.builder: embedded)")
    key = _key(spec, str(output_dir))
    built: list[dict[str, Any]] = []
    if key not in _MODELS:
        bundle = embedded_base_model(spec, data.vocabulary, data.corpus, output_dir / "flad" / "base_models")
        _MODELS[key] = (bundle, {n: p.detach().clone() for n, p in bundle.model.state_dict().items()})
        built = list(bundle.extra_compute)
    bundle, state = _MODELS[key]
    return ModelBundle(bundle.model, bundle.tokenizer, bundle.kind, bundle.description, []), state, built
