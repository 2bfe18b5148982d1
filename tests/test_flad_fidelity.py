"""FLAD trainer fidelity (the released code's behaviour, docs/methods/flad-bandits.md), items (a)–(e),
each against values computed by hand on a toy model whose gradients are plain arithmetic."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from benchmark.capabilities import RewardSettings
from benchmark.capabilities.gradient_rewards import flad_reward
from benchmark.training.warm_start import summed_batch_gradient, warm_start_rewards
from benchmark.training.gradient_capability import GradientRewards, TargetBatches


class Toy(torch.nn.Module):
    """One 1×1 "LM head" weight w; an example x has loss w·x, so ∂(batch mean)/∂w = mean of its x."""

    def __init__(self, dropout: float = 0.0):
        super().__init__()
        self.head = torch.nn.Linear(1, 1, bias=False)
        torch.nn.init.ones_(self.head.weight)
        self.dropout = torch.nn.Dropout(dropout)
        self.modes: list[bool] = []

    def get_output_embeddings(self) -> torch.nn.Linear:
        return self.head


def toy_objective(model: Toy, batch: dict, device: torch.device, weights=None) -> SimpleNamespace:
    model.modes.append(model.training)
    x = torch.tensor([[float(e)] for e in batch["examples"]])
    values = model.head(x).squeeze(1)
    return SimpleNamespace(loss=values.mean(), model_tokens=len(values),
                           example_sums=values.detach(), example_tokens=torch.ones(len(values)))


def test_a_warm_start_sums_each_batch_mean_over_all_batches():
    # 5 examples, B = 2, G = 4 → batches of 2, 2, 1 (shuffled); Σ_b mean_b / G.
    examples = [1, 1, 1, 1, 5]
    model = Toy()
    grad, tokens = summed_batch_gradient(model, toy_objective, examples, 2, 4, "lm_head", seed=0)
    order = np.random.Generator(np.random.PCG64([0, 11, 5])).permutation(5)
    last = examples[order[4]]                       # the example alone in the last, partial batch
    # e.g. last = 5: (1+1)/2/4 + (1+1)/2/4 + 5/4 = 0.25 + 0.25 + 1.25 = 1.75; last = 1: 0.25 + 0.75 + 0.25 = 1.25
    expected = {5: 1.75, 1: 1.25}[last]
    assert float(grad) == pytest.approx(expected) and tokens == 5
    # Not the arm's mean gradient rescaled to one micro-batch (the old rule): 9/5 · 1/4 = 0.45.
    assert float(grad) != pytest.approx(0.45)


def test_b_training_loss_is_the_token_mean_of_the_microbatch(monkeypatch):
    from benchmark.training import objectives

    # token losses [1, 1, 1] and [5]: token mean 8/4 = 2.0 (a mean of per-example means would be 3.0)
    logp = -torch.tensor([[1.0, 1.0, 1.0], [5.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, True], [True, False, False]])
    monkeypatch.setattr("benchmark.flad.models.label_logprobs", lambda model, kind, batch: (logp, mask))
    objective = objectives.PromptedExamples(tokenizer=None, kind="causal")
    monkeypatch.setattr(objective, "batch", lambda examples, device: {"attention_mask": torch.ones(2, 3)})
    result = objective(None, {"examples": [0, 1], "domain": torch.tensor([0, 0])}, torch.device("cpu"))
    assert float(result.loss) == pytest.approx(2.0)
    assert result.example_sums.tolist() == [3.0, 5.0] and result.example_tokens.tolist() == [3.0, 1.0]


def _module(model: Toy, grad_accum: int) -> SimpleNamespace:
    def manual_backward(loss):
        loss.backward()
    trainer = SimpleNamespace(global_rank=0, world_size=1)
    return SimpleNamespace(model=model, objective=toy_objective, device=torch.device("cpu"), trainer=trainer,
                           manual_backward=manual_backward, tokens_seen=0)


def test_c_target_pass_weighs_each_shuffled_batch_mean_by_one_over_g():
    # target items [1, 1, 1, 1, 5], B = 2, G = 4: gradient = Σ_b mean_b / 4 over the pass's batches
    items = [1, 1, 1, 1, 5]
    target = TargetBatches(lambda pass_index: items, 2, seed=3)
    batches = target.batches(0)
    assert sorted(x for b in batches for x in b) == sorted(items) and [len(b) for b in batches] == [2, 2, 1]
    model = Toy()
    rewards = GradientRewards(RewardSettings("ga", "before"), target, num_arms=1, grad_accum=4)
    rewards.before_optimizer_step(_module(model, 4))
    alone = batches[2][0]
    # alone = 5: 0.25 + 0.25 + 1.25 = 1.75 (the partial batch's example weighs twice the others); alone = 1: 1.25
    assert float(model.head.weight.grad) == pytest.approx({5: 1.75, 1: 1.25}[alone])
    assert float(rewards._target_before) == pytest.approx({5: 1.75, 1: 1.25}[alone])
    # a new pass, a new order: the passes differ only by their shuffle
    assert sorted(map(len, target.batches(1))) == [1, 2, 2]


def test_d_warm_start_gradients_are_taken_in_train_mode():
    model = Toy(dropout=0.1)
    model.eval()
    arm = SimpleNamespace(name="a", examples=[1, 2, 3])
    rewards, tokens = warm_start_rewards(model, toy_objective, [arm], [1, 1], batch_size=2, grad_accum=1)
    assert model.modes and all(model.modes)        # every gradient with dropout on (model.train())
    assert not model.training                      # and the caller's mode restored
    # target: Σ batch means = (1+1)/2 = 1; arm: batches of the shuffled [1, 2, 3] → 1.5 + 3 or 2 + 2 ... all > 0
    assert rewards["a"]["ga"] == pytest.approx(1.0) and tokens == 5


def test_e_cosine_denominator_is_the_clamped_product_of_norms():
    # ordinary vectors: a = (3, 4), T = (4, 3): 24 / (5·5) = 0.96
    assert flad_reward(np.array([3.0, 4.0]), np.array([4.0, 3.0]), "ga") == pytest.approx(0.96)
    # tiny vectors: ‖a‖·‖T‖ = 1e-10 < 1e-8 → 1e-10 / 1e-8 = 0.01 (not 1.0)
    assert flad_reward(np.array([1e-5]), np.array([1e-5]), "ga") == pytest.approx(0.01)
    # GMS with ‖T‖ = 1, ‖a‖ = 2: (2·2 + 1e-8) / (4 + 1 + 1e-8) = 0.8
    assert flad_reward(np.array([2.0, 0.0]), np.array([1.0, 0.0]), "gms") == pytest.approx(0.8)
