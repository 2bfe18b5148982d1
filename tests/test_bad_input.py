"""Bad input fails before training with a one-line message naming the field, exit status 2."""

import pytest

from benchmark.cli import main


@pytest.mark.parametrize("argv, needle", [
    (["run", "--task", "no-such-task"], "task: unknown task 'no-such-task'"),
    (["run", "--method", "no-such-method"], "method: unknown method 'no-such-method'"),
    (["run", "--method", "odm-code", "--set", "method.alpha=1.0"], "method.alpha: must be in [0, 1)"),
    (["run", "--method", "odm-code", "--set", "method.alpha=-0.2"], "method.alpha: must be in [0, 1)"),
    (["run", "--method", "odm-code", "--set", "method.colour=red"], "method.colour: unknown hyperparameter"),
    (["run", "--method", "uniform", "--set", "training.steps=0"], "training.steps: must be a positive integer"),
    (["run", "--method", "uniform", "--set", "training.steps=-5"], "training.steps: must be a positive integer"),
    (["run", "--method", "uniform", "--set", "training.lr=abc"], "training.lr: must be a positive number"),
    (["run", "--method", "uniform", "--set", "training.nonsense=1"], "training.nonsense: unknown key"),
    (["run", "--method", "uniform", "--set", "bogus.key=1"], "--set 'bogus.key'"),
    (["run", "--method", "uniform", "--set", "training.steps"], "expected key=value"),
    (["leaderboard", "/no/such/dir"], "paths: not found"),
    (["evaluate", "/no/such/record.json"], "record: not found"),
])
def test_bad_input_exits_2_with_named_field(argv, needle, capsys, tmp_path):
    code = main(argv + (["--output-dir", str(tmp_path)] if argv[0] == "run" else []))
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "records").exists()           # nothing trained


@pytest.mark.parametrize("hp, needle", [
    ("method.weights={web: 0.5, books: 0.6}", "method.weights: missing domain(s)"),
    ("method.weights={%s}" % ", ".join(f"{d}: 0.2" for d in
                                       "web books wiki emails code forum math legal medical noise".split()),
     "method.weights: must sum to 1 (got 2.000000)"),
    ("method.weights={web: -1.0}", "method.weights.web: must be a non-negative number"),
    ("method.weights={atlantis: 1.0}", "method.weights: unknown domain(s) ['atlantis']"),
])
def test_fixed_weight_errors(hp, needle, capsys, tmp_path, monkeypatch):
    argv = ["run", "--method", "uniform", "--output-dir", str(tmp_path)]
    # a fixed-weights recipe made on the fly through overrides of a fixed strategy
    from benchmark import config

    original = config.load_recipe

    def fake(name):
        if name == "uniform":
            return {"name": "fixed-test", "strategy": "fixed", "hyperparameters": {}}
        return original(name)

    monkeypatch.setattr(config, "load_recipe", fake)
    assert main(argv + ["--set", hp]) == 2
    assert needle in capsys.readouterr().err


def test_bad_seed_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--seed", "-1"])
    assert exc.value.code == 2
