"""The replay track: scores on RegMix's published logs checked against independent computations,
user CSV directories, plug-in predictors, bad input and the CLI end to end."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from benchmark.config import ConfigError
from benchmark.replay import (
    ReplayDataError, create_predictor, default_data_dir, load_replay_data, random_expectation, run_replay,
)
from benchmark.replay.predictors import PredictorContext

ROOT = Path(__file__).resolve().parents[1]
PILE_CC_MIX, PILE_CC_LOSS = "train_the_pile_pile_cc", "metric/the_pile_pile_cc_val_loss"


def column(path: Path, name: str) -> np.ndarray:
    with path.open(newline="") as handle:
        return np.array([float(row[name]) for row in csv.DictReader(handle)])


@pytest.fixture(scope="module")
def regmix():
    return load_replay_data()


def by_scale(results):
    return {(r.method, r.scale): r.score for r in results}


def test_pack_is_complete_and_aligned(regmix):
    assert regmix.train.mixtures.shape == (512, 17)
    assert {k: len(v.mixtures) for k, v in regmix.tests.items()} == {"1M": 256, "60M": 256, "1B": 64}
    assert (default_data_dir() / "LICENSE").read_text().startswith("MIT License")


def test_pile_cc_weight_scores_match_scipy(regmix):
    scores = by_scale(run_replay(regmix, ["pile-cc-weight"], resamples=50))
    for scale, stem in (("1M", "1m"), ("60M", "60m"), ("1B", "1B")):
        weight = column(default_data_dir() / f"test_mixture_{stem}.csv", PILE_CC_MIX)
        loss = column(default_data_dir() / f"test_pile_loss_{stem}.csv", PILE_CC_LOSS)
        rho = spearmanr(-weight, loss).statistic
        assert (weight == weight.max()).sum() == 1          # a unique predicted-best mixture
        regret = loss[np.argmax(weight)] - loss.min()
        score = scores[("pile-cc-weight", scale)]
        assert score.spearman == pytest.approx(rho, abs=1e-12)
        assert score.top1_regret == pytest.approx(regret, abs=1e-12)
        assert score.ci_low <= score.spearman <= score.ci_high


def test_random_expectation_is_exact():
    loss = np.array([3.0, 2.5, 4.0, 3.5, 2.0, 5.0, 4.5, 3.2, 2.8, 3.9])
    score = random_expectation(loss, k=5)
    assert score.spearman == 0 and score.analytic
    assert score.top1_regret == pytest.approx(loss.mean() - 2.0)
    assert score.topk_hit == pytest.approx(0.5)
    # a constant prediction (all ties, broken at random) scores exactly the same expectation
    constant = run_replay_on(loss)
    assert constant.top1_regret == pytest.approx(score.top1_regret)
    assert constant.topk_hit == pytest.approx(score.topk_hit)


def run_replay_on(loss):
    from benchmark.replay.scoring import score_predictions
    return score_predictions(np.zeros_like(loss), loss, resamples=20)


def test_lightgbm_notebook_reproduces_published_notebook_output(regmix):
    scores = by_scale(run_replay(regmix, ["lightgbm-notebook"], resamples=10))
    assert round(100 * scores[("lightgbm-notebook", "1M")].spearman, 2) == 98.92


def write_pair(directory: Path, kind: str, scale: str, domains: list[str], mixtures: np.ndarray,
               losses: np.ndarray) -> None:
    with (directory / f"{kind}_mixture_{scale}.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index"] + [f"train_the_pile_{d}" for d in domains])
        writer.writerows([[i + 1, *row] for i, row in enumerate(mixtures)])
    with (directory / f"{kind}_pile_loss_{scale}.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "metric/the_pile_pile_cc_val_loss", "metric/the_pile_github_val_loss"])
        writer.writerows([[i + 1, *row] for i, row in enumerate(losses)])


def user_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    domains = ["pile_cc", "github", "arxiv"]
    truth = np.array([-2.0, 0.5, 1.0])
    for kind, scale, n in (("train", "tiny", 40), ("test", "small", 12)):
        mix = rng.dirichlet(np.ones(3), n).round(3)
        loss = np.c_[4.0 + mix @ truth, 3.0 - mix @ truth]
        if kind == "test":   # columns in another order: aligned by domain name
            mix, domains = mix[:, [2, 0, 1]], [domains[i] for i in (2, 0, 1)]
        write_pair(tmp_path, kind, scale, domains, mix, loss)
    return tmp_path


def test_user_csv_directory(tmp_path):
    data = load_replay_data(user_dir(tmp_path))
    assert data.train.domains == ("pile_cc", "github", "arxiv") and list(data.tests) == ["SMALL"]
    scores = by_scale(run_replay(data, ["ridge", "pile-cc-weight"], target="pile-cc", resamples=20))
    assert scores[("ridge", "SMALL")].spearman == pytest.approx(1.0)   # exactly linear losses
    assert scores[("ridge", "SMALL")].top1_regret == pytest.approx(0.0)
    github = by_scale(run_replay(data, ["ridge"], target="github", resamples=20))
    assert github[("ridge", "SMALL")].spearman == pytest.approx(1.0)


class HalfPileCC:
    """A plug-in predictor without a context argument."""

    def fit(self, X, y):
        return self

    def predict(self, X):
        return -0.5 * np.asarray(X)[:, 0]


def test_plugin_predictors(tmp_path, monkeypatch):
    data = load_replay_data(user_dir(tmp_path))
    (tmp_path / "my_replay_plugin.py").write_text(
        "import numpy as np\n"
        "class Law:\n"
        "    def __init__(self, context):\n"
        "        self.column = context.domains.index('pile_cc')\n"
        "    def fit(self, X, y):\n"
        "        return self\n"
        "    def predict(self, X):\n"
        "        return -np.asarray(X)[:, self.column]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    scores = by_scale(run_replay(data, ["my_replay_plugin:Law", f"{__name__}:HalfPileCC", "pile-cc-weight"],
                                 resamples=20))
    assert scores[("my_replay_plugin:Law", "SMALL")] == scores[("pile-cc-weight", "SMALL")]
    assert scores[(f"{__name__}:HalfPileCC", "SMALL")].spearman == scores[("pile-cc-weight", "SMALL")].spearman


def test_bad_input_errors(tmp_path):
    directory = user_dir(tmp_path)
    path = directory / "test_pile_loss_small.csv"
    lines = path.read_text().splitlines()
    fields = lines[2].split(",")
    lines[2] = ",".join([fields[0], "oops", *fields[2:]])
    path.write_text("\n".join(lines) + "\n")
    message = r"test_pile_loss_small\.csv: row 3, column 'metric/the_pile_pile_cc_val_loss': 'oops'"
    with pytest.raises(ReplayDataError, match=message):
        load_replay_data(directory)
    with pytest.raises(ConfigError, match="did you mean 'lightgbm'"):
        create_predictor("lightgbn", PredictorContext(("pile_cc",)))
    with pytest.raises(ReplayDataError, match="did you mean 'pile_cc'"):
        run_replay(load_replay_data(), ["ridge"], target="pile_c")
    with pytest.raises(ReplayDataError, match="not a directory"):
        load_replay_data(tmp_path / "missing")


def test_cli_end_to_end(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "benchmark", "replay", "--methods", "ridge,pile-cc-weight",
                           "--output-dir", str(out), "--resamples", "100"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "ridge" in proc.stdout and "pile-cc-weight" in proc.stdout and "1B" in proc.stdout
    assert (out / "replay_scores.csv").read_text().count("\n") == 1 + 2 * 3
    bad = subprocess.run([sys.executable, "-m", "benchmark", "replay", "--methods", "ridgee"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "did you mean 'ridge'" in bad.stderr
