"""One lazy registry: built-ins imported on first use, did-you-mean errors, plug-ins by
"module:Class" and by entry point, task/recipe files outside the package, `include:` deltas, and
no import cycles inside the package."""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import TINY

from benchmark import registry
from benchmark.cli import main
from benchmark.config import ConfigError, load_recipe, load_task, resolve_config
from benchmark.strategies import get_strategy_class, strategy_names

ROOT = Path(__file__).resolve().parents[1]

PLUGIN_MODULE = """
from dataclasses import dataclass

import numpy as np

from benchmark.strategies.static import StaticStrategy


@dataclass
class FirstHeavy(StaticStrategy):
    name = "first-heavy"
    share: float = 0.5

    def compute_weights(self):
        rest = (1.0 - self.share) / (self.num_domains - 1)
        weights = np.full(self.num_domains, rest)
        weights[0] = self.share
        return weights
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def fresh_python(code: str) -> None:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_registered_modules_are_imported_only_when_asked_for():
    fresh_python("""
        import sys
        from benchmark.config import load_recipe
        from benchmark.data.pretrain_task import builder_names
        load_recipe("odm-code")                      # names are checked without importing the class
        assert "pile_odm" in builder_names()
        assert "benchmark.strategies.odm" not in sys.modules
        assert "benchmark.data.pile" not in sys.modules
        assert "benchmark.pipelines.doremi" not in sys.modules
        from benchmark.strategies import get_strategy_class
        assert get_strategy_class("odm").name == "odm"
        assert "benchmark.strategies.odm" in sys.modules
    """)


def test_unknown_names_get_a_did_you_mean_line(tmp_path, capsys):
    with pytest.raises(ConfigError, match=r"^strategy: unknown strategy 'odn'; did you mean 'odm'\? allowed: "):
        get_strategy_class("odn")
    with pytest.raises(ConfigError, match=r"^data.builder: unknown data builder 'pile'; did you mean 'pile_odm'"):
        registry.resolve("data_builders", "pile")
    recipe = write(tmp_path / "bad.yaml", "strategy: unifrom\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: strategy: unknown strategy 'unifrom'; did you mean 'uniform'"):
        load_recipe(str(recipe))
    assert main(["run", "--method", "odm-cod", "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "method: unknown method 'odm-cod'; did you mean 'odm-code'?" in err and len(err.splitlines()) == 1
    with pytest.raises(ConfigError, match="strategy: cannot import module 'no_such_pkg.mixing'"):
        get_strategy_class("no_such_pkg.mixing:Thing")


def test_path_recipe_with_a_plugin_strategy_runs_through_the_cli_and_the_leaderboard(tmp_path, monkeypatch, capsys):
    plugins = tmp_path / "plugins"
    write(plugins / "my_mixing.py", PLUGIN_MODULE)
    monkeypatch.syspath_prepend(str(plugins))          # as PYTHONPATH would
    recipe = write(tmp_path / "elsewhere" / "first-heavy.yaml", """
        strategy: "my_mixing:FirstHeavy"
        description: Most of the batch from the first domain.
        hyperparameters: {share: 0.3}
    """)
    task = write(tmp_path / "elsewhere" / "my-task.yaml", """
        include: embedded-pretrain      # a task name
        description: The embedded benchmark, logged every step.
        training: {log_every: 1}
    """)
    out = tmp_path / "out"
    argv = ["run", "--task", str(task), "--method", str(recipe), "--output-dir", str(out), "--no-tracking",
            "--no-progress"]
    assert main(argv + [a for item in TINY for a in ("--set", item)] + ["--set", "training.log_every=2"]) == 0
    records = list((out / "records").glob("*.json"))
    assert len(records) == 1 and records[0].name.startswith("my-task__first-heavy__seed0__")
    capsys.readouterr()
    assert main(["leaderboard", str(out / "records"), "--no-plots"]) == 0
    assert "first-heavy" in capsys.readouterr().out


def install_plugin_distribution(site: Path) -> None:
    """A tiny installed package: a dist-info with entry points beside its module (what pip writes)."""
    write(site / "mixplug" / "__init__.py", PLUGIN_MODULE.replace("FirstHeavy", "PlugHeavy"))
    write(site / "mixplug" / "tasks" / "plug-task.yaml", """
        include: embedded-pretrain
        description: A task shipped by a plug-in package.
        training: {steps: 7}
    """)
    write(site / "mixplug" / "recipes" / "plug.yaml", "strategy: plug-heavy\nhyperparameters: {share: 0.4}\n")
    write(site / "mixplug-0.1.dist-info" / "METADATA", "Metadata-Version: 2.1\nName: mixplug\nVersion: 0.1\n")
    write(site / "mixplug-0.1.dist-info" / "entry_points.txt", """
        [benchmark.strategies]
        plug-heavy = mixplug:PlugHeavy

        [benchmark.tasks]
        plug-task = mixplug:tasks/plug-task.yaml

        [benchmark.recipes]
        plug-recipe = mixplug:recipes/plug.yaml
    """)


def test_entry_points_of_an_installed_package(tmp_path, monkeypatch):
    install_plugin_distribution(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert "plug-heavy" in strategy_names()
    assert get_strategy_class("plug-heavy").__name__ == "PlugHeavy"
    assert load_task("plug-task")["training"]["steps"] == 7
    config = resolve_config("plug-task", "plug-recipe", 0)
    assert config.task_name == "plug-task" and config.recipe["name"] == "plug-recipe"
    assert config.recipe["hyperparameters"] == {"share": 0.4}
    assert config.task["model"] == load_task("embedded-pretrain")["model"]


def test_include_deep_merges_and_the_including_file_wins(tmp_path):
    write(tmp_path / "base.yaml", """
        family: pretrain
        model: {hidden_size: 64, num_layers: 2}
        training: {steps: 100, lr: 1.0e-3}
    """)
    write(tmp_path / "sub" / "mid.yaml", "include: ../base.yaml\nmodel: {num_layers: 4}\ntraining: {steps: 50}\n")
    child = write(tmp_path / "sub" / "child.yaml", "include: mid.yaml\ntraining: {steps: 10}\n")
    task = load_task(str(child))
    assert task == {"family": "pretrain", "model": {"hidden_size": 64, "num_layers": 4},
                    "training": {"steps": 10, "lr": 1.0e-3}}


def test_include_cycle_is_one_line(tmp_path):
    write(tmp_path / "a.yaml", "include: b.yaml\n")
    write(tmp_path / "b.yaml", "include: a.yaml\n")
    with pytest.raises(ConfigError, match=r"^include: cycle a.yaml -> b.yaml -> a.yaml$"):
        load_task(str(tmp_path / "a.yaml"))
    write(tmp_path / "c.yaml", "include: no-such-task\n")
    with pytest.raises(ConfigError, match=r"c.yaml: include: unknown task 'no-such-task'"):
        load_task(str(tmp_path / "c.yaml"))


def test_variant_tasks_are_deltas_over_their_base():
    for variant, base in [("pile-odm-160m", "pile-odm"), ("t0mix-t5-base", "t0mix"), ("p3-t0-3b", "p3"),
                          ("t0mix-causal-lm", "t0mix-t5-base")]:
        text = (ROOT / "tasks" / f"{variant}.yaml").read_text()
        assert text.startswith(f"include: {base}.yaml") and len(text.splitlines()) < 12
        assert load_task(variant)["data"] == load_task(base)["data"]
    assert load_task("t0mix-causal-lm")["model"]["kind"] == "causal"
    assert load_task("pile-odm-410m")["model"]["rotary_pct"] == 0.25      # inherited


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_time_imports(path: Path, modules: set[str]) -> set[str]:
    """Modules of the package this file imports when it is itself imported (module level only:
    imports inside functions run later and cannot form an import-time cycle)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[:len(base) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            found |= {target} | {f"{target}.{alias.name}" for alias in node.names}
    return found & modules


def test_no_import_cycles_inside_the_package():
    files = {_module_name(p): p for p in (ROOT / "benchmark").rglob("*.py")}
    graph = {name: _import_time_imports(path, set(files)) - {name} for name, path in files.items()}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt]
                pytest.fail(f"import cycle: {' -> '.join(cycle)}")
            if nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_sweep_accepts_task_and_recipe_files(tmp_path, monkeypatch):
    from benchmark.cli import build_parser
    from benchmark.sweep.spec import build_spec

    monkeypatch.chdir(tmp_path)
    write(tmp_path / "odm-mine.yaml", (ROOT / "baselines" / "odm-code.yaml").read_text())
    write(tmp_path / "tiny.yaml", "include: embedded-pretrain\ntraining: {steps: 16}\n")
    args = build_parser().parse_args(["sweep", "--task", "tiny.yaml", "--method", "odm-mine.yaml", "--trials", "1"])
    spec = build_spec(args, args.method)
    assert spec.method == str(tmp_path / "odm-mine.yaml") and spec.task == str(tmp_path / "tiny.yaml")
    assert spec.study == "sweep-tiny-odm-mine" and spec.search_space
