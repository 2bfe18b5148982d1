"""Where prompted rows come from, all in bigscience/P3's record format.

A *template config* is one (dataset, subset, prompt template) and yields rows
    {"inputs_pretokenized": str, "targets_pretokenized": str, "answer_choices": [str] (optional),
     "inputs": [int], "targets": [int]}            # token ids (T5), present on the hub, unused here
per split. Three sources give the same rows:

- `P3Source("bigscience/P3")` — the hub's pre-templated P3 (parquet; one config per
  dataset × promptsource template, built with the templates T0 was trained on). It holds the ~60
  datasets of the T0 / T0+ / T0++ mixtures and their evaluation sets: every T0Mix arm and every
  held-out target, but only a minority of the 261 P3 arms FLAD used.
- `P3Source(<local directory>)` — the same layout on disk: `<dir>/<config>/<split>.parquet` (or
  `.jsonl`); the embedded benchmark writes its data this way, and the tests use small files.
- `PromptsourceSource(templates_root, ...)` — what FLAD's code did: promptsource templates applied
  at load time to the raw hub datasets. The `promptsource` package itself does not install here
  (its last release, 0.2.3, requires Python < 3.10 and pins old dependencies), so this renders the
  templates' YAML (`templates/<dataset>/<subset>/templates.yaml` of a promptsource checkout) with
  Jinja2 the way promptsource's `Template.apply` does. The raw datasets load with `datasets`
  only where the hub serves data files (parquet / json); datasets that still need a loading
  script fail under `datasets` ≥ 4 with a message naming them.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Callable

import yaml

Row = dict[str, Any]


def _read_local_rows(path: Path) -> list[Row]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq
        return pq.read_table(path).to_pylist()
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class P3Source:
    """bigscience/P3 on the hub, or a local directory with its layout."""

    def __init__(self, path: str | Path = "bigscience/P3", revision: str | None = None):
        self.path = str(path)
        self.revision = revision
        self.local = Path(self.path).is_dir()
        self._names: list[str] | None = None

    def describe(self) -> dict[str, Any]:
        return {"kind": "p3", "path": self.path, "revision": self.revision, "local": self.local}

    def config_names(self) -> list[str]:
        if self._names is None:
            if self.local:
                self._names = sorted(p.name for p in Path(self.path).iterdir() if p.is_dir())
            else:
                from datasets import get_dataset_config_names
                self._names = sorted(get_dataset_config_names(self.path, revision=self.revision))
        return self._names

    def _local_file(self, config: str, split: str) -> Path | None:
        directory = Path(self.path) / config
        for pattern in (f"{split}.parquet", f"{split}.jsonl", f"{split}-*.parquet"):
            found = sorted(directory.glob(pattern))
            if found:
                return found[0]
        return None

    def has_split(self, config: str, split: str) -> bool:
        if self.local:
            return self._local_file(config, split) is not None
        from datasets import get_dataset_split_names
        return split in get_dataset_split_names(self.path, config, revision=self.revision)

    def rows(self, config: str, split: str, limit: int | None = None) -> list[Row]:
        if self.local:
            path = self._local_file(config, split)
            if path is None:
                raise FileNotFoundError(f"{self.path}/{config}: no '{split}' split (.parquet or .jsonl)")
            rows = _read_local_rows(path)
            return rows[:limit] if limit else rows
        from datasets import load_dataset
        part = f"{split}[:{limit}]" if limit else split
        return load_dataset(self.path, config, split=part, revision=self.revision).to_list()


# -- promptsource templates rendered at load time --------------------------------------------------
class _TemplateLoader(yaml.SafeLoader):
    """Reads promptsource's templates.yaml (its `!Template` / `!TemplateMetadata` tags → dicts)."""


def _mapping(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    return loader.construct_mapping(node, deep=True)


_TemplateLoader.add_constructor("!Template", _mapping)
_TemplateLoader.add_constructor("!TemplateMetadata", _mapping)


def _most_frequent(items: list[Any]) -> Any:
    return max(set(items), key=items.count) if items else None


class PromptTemplate:
    """One promptsource template: `jinja` renders "input ||| target"; `answer_choices` (optional)
    renders "a ||| b ||| c". Rendering follows promptsource's Template.apply: "|||" inside field
    values is protected, the two parts are stripped, a row whose target renders empty is skipped."""

    PIPE = "|||"

    def __init__(self, name: str, jinja: str, answer_choices: str | None = None, seed: int = 0):
        import jinja2
        self.name, self.jinja_source, self.choices_source = name, jinja, answer_choices
        self._rng = random.Random(seed)
        env = jinja2.Environment(loader=jinja2.BaseLoader())
        env.filters.update({"highlight": lambda x: x, "choice": lambda xs: self._rng.choice(list(xs)),
                            "most_frequent": _most_frequent, "zip": zip})
        self._template = env.from_string(jinja)
        self._choices = env.from_string(answer_choices) if answer_choices else None

    @classmethod
    def from_yaml(cls, path: Path, seed: int = 0) -> list["PromptTemplate"]:
        data = yaml.load(path.read_text(), Loader=_TemplateLoader) or {}
        return [cls(t["name"], t["jinja"], t.get("answer_choices"), seed)
                for _, t in sorted((data.get("templates") or {}).items(), key=lambda kv: kv[1]["name"])]

    def _protect(self, example: Row) -> Row:
        return {k: v.replace(self.PIPE, "|\\|\\|") if isinstance(v, str) else v for k, v in example.items()}

    def answer_choices(self, example: Row) -> list[str] | None:
        if self._choices is None:
            return None
        text = self._choices.render(**self._protect(example))
        return [c.strip().replace("|\\|\\|", self.PIPE) for c in text.split(self.PIPE)]

    def apply(self, example: Row) -> Row | None:
        choices = self.answer_choices(example)
        rendered = self._template.render(**self._protect(example), answer_choices=choices)
        parts = [p.strip().replace("|\\|\\|", self.PIPE) for p in rendered.split(self.PIPE)]
        if len(parts) < 2 or not parts[1]:
            return None
        row: Row = {"inputs_pretokenized": parts[0], "targets_pretokenized": parts[1]}
        if choices is not None:
            row["answer_choices"] = choices
        return row


# T-Few's seven HellaSwag templates, which FLAD used instead of promptsource's (docs/benchmarks.md).
TFEW_HELLASWAG = (
    ("basic", "{{ctx}}|||{{answer_choices[label | int]}}"),
    ("prompt 1", "Can you pick the correct ending for the sentence: {{ctx}}|||{{answer_choices[label | int]}}"),
    ("prompt 2", "The task is to generate the ending for the sentence: {{ctx}}|||{{answer_choices[label | int]}}"),
    ("prompt 3", "How does this sentence end? {{ctx}}|||{{answer_choices[label | int]}}"),
    ("prompt 4", "From the list of endings described below, what ending makes the most sense for the sentence "
                 "{{ctx}}|||{{answer_choices[label | int]}}"),
    ("ctx a,b", "Complete the description with an appropriate ending:\n First, {{ ctx_a.lower() }} Then, "
                "{{ ctx_b.lower() }} ...|||{{answer_choices[label | int]}}"),
    ("middle", "If a description of a situation begins like this: {{ ctx }}... Then how does it "
               "continue?|||{{answer_choices[label | int]}}"),
)


def tfew_hellaswag_templates(seed: int = 0) -> list[PromptTemplate]:
    return [PromptTemplate(name, jinja, '{{endings | join("|||")}}', seed) for name, jinja in TFEW_HELLASWAG]


RawLoader = Callable[[str, str | None, str], list[Row]]


def hub_raw_loader(dataset: str, subset: str | None, split: str) -> list[Row]:
    from datasets import load_dataset
    try:
        return load_dataset(dataset, subset, split=split).to_list()
    except Exception as exc:  # noqa: BLE001 — re-raised with the arm named
        raise RuntimeError(f"raw dataset {dataset}/{subset} split {split!r} does not load with this `datasets` "
                           f"(script-only datasets need datasets < 4): {type(exc).__name__}: {exc}") from exc


def local_raw_loader(root: Path) -> RawLoader:
    """Raw rows from `<root>/<dataset>/<subset or '_'>/<split>.jsonl|parquet` (tests, mirrors)."""
    def load(dataset: str, subset: str | None, split: str) -> list[Row]:
        directory = Path(root) / dataset / (subset or "_")
        for suffix in (".parquet", ".jsonl"):
            if (directory / f"{split}{suffix}").exists():
                return _read_local_rows(directory / f"{split}{suffix}")
        raise FileNotFoundError(f"{directory}: no raw '{split}' split")
    return load


class PromptsourceSource:
    """Template configs rendered from raw rows: config name = P3-style prefix + template name.

    datasets: {config prefix (arms.p3_prefix / TargetSpec.p3_prefix): (dataset, subset)};
    templates_root: a promptsource checkout's `promptsource/templates` directory;
    overrides: {prefix: [PromptTemplate]} replaces a dataset's templates (e.g. T-Few HellaSwag);
    suffixes: {prefix: ["_r1", "_r2", "_r3"]} — one config per template and suffix, named as in
    bigscience/P3 (ANLI's rounds are splits of one raw dataset).
    """

    def __init__(self, templates_root: str | Path | None, datasets: dict[str, tuple[str, str | None]],
                 raw_loader: RawLoader = hub_raw_loader, overrides: dict[str, list[PromptTemplate]] | None = None,
                 suffixes: dict[str, list[str]] | None = None, seed: int = 0):
        from .arms import p3_name
        self.root = Path(templates_root) if templates_root else None
        self.raw_loader = raw_loader
        self.datasets = datasets
        self._templates: dict[str, tuple[str, PromptTemplate]] = {}
        self._raw: dict[tuple[str, str], list[Row]] = {}
        for prefix, (dataset, subset) in datasets.items():
            templates = (overrides or {}).get(prefix)
            if templates is None:
                path = self.root / dataset / subset / "templates.yaml" if (self.root and subset) else \
                    (self.root / dataset / "templates.yaml" if self.root else None)
                if path is None or not path.exists():
                    raise FileNotFoundError(f"promptsource templates for {dataset}/{subset}: {path} not found")
                templates = PromptTemplate.from_yaml(path, seed)
            for template in templates:
                for suffix in (suffixes or {}).get(prefix, [""]):
                    self._templates[prefix + p3_name(template.name) + suffix] = (prefix, template)

    def describe(self) -> dict[str, Any]:
        return {"kind": "promptsource", "templates_root": str(self.root) if self.root else None}

    def config_names(self) -> list[str]:
        return sorted(self._templates)

    def has_split(self, config: str, split: str) -> bool:
        try:
            self._raw_rows(self._templates[config][0], split)
            return True
        except (FileNotFoundError, RuntimeError, ValueError):
            return False

    def _raw_rows(self, prefix: str, split: str) -> list[Row]:
        key = (prefix, split)
        if key not in self._raw:
            dataset, subset = self.datasets[prefix]
            self._raw[key] = self.raw_loader(dataset, subset, split)
        return self._raw[key]

    def rows(self, config: str, split: str, limit: int | None = None) -> list[Row]:
        prefix, template = self._templates[config]
        out = []
        for index, example in enumerate(self._raw_rows(prefix, split)[:limit]):
            row = template.apply(example)
            if row is not None:
                row["_index"] = index  # position in the raw split: aligns a template's rows with the others
                out.append(row)
        return out
