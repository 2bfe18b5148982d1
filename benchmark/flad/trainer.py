"""The FLAD training loop: a plain PyTorch loop, short enough to read in one sitting.

One optimizer update (docs/methods/flad-bandits.md):

    plan = strategy.plan(step, G, B)                      # which arm each micro-batch draws
    for each of the G micro-batches (one arm each):       # bandit methods
        g0 = lm_head.grad.clone()
        backward(sum of its B example losses / (B·G))
        aux_grad[arm] += lm_head.grad − g0                # the change the micro-batch caused
    backward(the whole few-shot target train half, same weighting)   # every update
    clip, step
    target_grad = LM-head gradient of the target loss AFTER the step (code) or the target pass's own
                  change of lm_head.grad BEFORE it (paper's pseudo-code) — `target_gradient`
    rewards[arm] = flad_reward(mean aux_grad[arm] over the window, target_grad, reward)
    strategy.update(step, DomainStats(..., rewards=rewards))

Fixed-mixture methods (Explore-Only, Exploit-Only, Target-Only, or any non-FLAD recipe) instead see
the target as one more arm ("target") and draw mixed micro-batches from the plan; there is no
separate target pass. Every `eval_every` updates the few-shot validation half is scored (rank
classification); training stops after `patience` evaluations without improvement and the best
weights are restored.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from ..data.mixture import DomainReader
from ..progress import StepProgress, current_mixture, format_top
from ..strategies.base import DomainStats
from ..strategies.exp3 import flad_reward
from .data import Arm, Example, TargetData
from .evaluation import accuracy
from .models import ModelBundle, example_losses, make_batch, training_pairs

TARGET_ARM = "target"


@dataclass
class LoopSettings:
    steps: int
    batch_size: int               # B: examples per micro-batch (one bandit round)
    grad_accum: int               # G: micro-batches per optimizer update
    lr: float
    optimizer: str = "adafactor"  # adafactor (FLAD) | adamw
    weight_decay: float = 0.0
    warmup_fraction: float = 0.01
    schedule: str = "constant"    # constant (FLAD: constant with warm-up) | cosine
    grad_clip: float = 1.0
    eval_every: int = 100
    patience: int = 10
    eval_batch_size: int = 64
    log_every: int = 1
    precision: str = "32-true"
    max_input_length: int = 512
    warm_start_examples: int = 1000


@dataclass
class LoopResult:
    curves: dict[str, list[Any]]
    best_step: int
    best_val_acc: float
    steps_done: int
    stopped_early: bool
    train_tokens: int
    timing: dict[str, float]
    drawn: list[dict[str, Any]] = field(default_factory=list)   # realized draws per logged step
    probe_tokens: int = 0         # tokens of gradient probes (forward + LM-head backward) outside training


def build_optimizer(model: torch.nn.Module, s: LoopSettings) -> tuple[Any, Any]:
    if s.optimizer == "adafactor":
        from transformers.optimization import Adafactor
        opt = Adafactor(model.parameters(), lr=s.lr, relative_step=False, scale_parameter=False,
                        warmup_init=False, weight_decay=s.weight_decay)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    warmup = max(1, int(round(s.warmup_fraction * s.steps)))

    def factor(step: int) -> float:  # step = number of updates done
        if step < warmup:
            return (step + 1) / warmup
        if s.schedule == "cosine":
            return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, s.steps - warmup)))
        return 1.0
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


class FladLoop:
    """Trains `bundle.model` on `arms` + `target` with `strategy` (see the module docstring)."""

    def __init__(self, bundle: ModelBundle, arms: list[Arm], target: TargetData, strategy: Any,
                 settings: LoopSettings, seed: int, protocol: str = "t0_rank",
                 log: Callable[[str], None] | None = None, progress: StepProgress | None = None,
                 on_evaluation: Callable[[], None] | None = None):
        self.bundle, self.arms, self.target, self.strategy, self.s = bundle, arms, target, strategy, settings
        self.on_evaluation = on_evaluation or (lambda: None)   # e.g. live MLflow logging of the new points
        self.curves: dict[str, list[Any]] = {}
        self.seed, self.protocol, self.log = seed, protocol, log or (lambda _msg: None)
        self.progress = progress
        if progress is not None:   # evaluation lines print above the bar, not through it
            self.log = progress.around(self.log)
        self.bandit = "arm_rewards" in strategy.hooks
        self.domains = list(strategy.domains)
        expected = [a.name for a in arms] + ([] if self.bandit else [TARGET_ARM])
        if self.domains != expected:
            raise ValueError(f"strategy domains {self.domains[:3]}... do not match the arms (+ target for mixed methods)")
        sizes = [len(a) for a in arms] + ([] if self.bandit else [len(target.train)])
        self.readers = [DomainReader(np.arange(n), seed, i) for i, n in enumerate(sizes)]
        self.template_rng = np.random.Generator(np.random.PCG64([seed, 7]))
        self.reward_kind = getattr(strategy, "reward", "agg")
        self.target_gradient = getattr(strategy, "target_gradient", "after")
        self.strategy_seconds = self.reward_seconds = 0.0
        self.train_tokens = self.probe_tokens = 0

    # -- data ---------------------------------------------------------------------------------------
    def _target_example(self, index: int) -> Example:
        options = self.target.train[index]
        names = sorted(options)
        return options[names[int(self.template_rng.integers(len(names)))]]

    def _examples(self, domain: int, count: int) -> list[Example]:
        indices = self.readers[domain].reserve(count)
        if domain == len(self.arms):  # the target, as an arm of a mixed method
            return [self._target_example(int(i)) for i in indices]
        return [self.arms[domain].examples[int(i)] for i in indices]

    def _target_pass(self) -> list[Example]:
        return [self._target_example(i) for i in range(len(self.target.train))]

    # -- pieces of a step ----------------------------------------------------------------------------
    def _autocast(self) -> Any:
        enabled = self.s.precision == "bf16-mixed"
        return torch.autocast(self.bundle.device.type, dtype=torch.bfloat16, enabled=enabled)

    def _batch(self, examples: list[Example]) -> tuple[dict[str, torch.Tensor], int]:
        """The padded batch and its tokens through the model (inputs + seq2seq targets)."""
        batch = make_batch(self.bundle, training_pairs(self.bundle, examples, self.s.max_input_length))
        tokens = int(batch["attention_mask"].sum()) + (
            int((batch["labels"] != -100).sum()) if self.bundle.kind == "seq2seq" else 0)
        return batch, tokens

    def _losses(self, examples: list[Example], training: bool = True) -> torch.Tensor:
        batch, tokens = self._batch(examples)
        if training:  # tokens through the model in training updates
            self.train_tokens += tokens
        else:         # a gradient probe (_head_gradient): compute the method adds on top of training
            self.probe_tokens += tokens
        with self._autocast():
            return example_losses(self.bundle, batch)

    def _backward(self, examples: list[Example], scale: float) -> tuple[float, int]:
        losses = self._losses(examples)
        (losses.sum() * scale).backward()
        return float(losses.detach().sum()), len(examples)

    def _head_gradient(self, examples: list[Example], scale: float) -> torch.Tensor:
        """LM-head gradient of Σ losses · scale, without touching .grad (autograd only walks the head)."""
        head = self.bundle.lm_head
        total = torch.zeros_like(head, dtype=torch.float32)
        for start in range(0, len(examples), self.s.eval_batch_size):
            losses = self._losses(examples[start:start + self.s.eval_batch_size], training=False)
            (grad,) = torch.autograd.grad(losses.sum() * scale, [head])
            total += grad.float()
        return total

    def _warm_start_examples(self) -> list[Example]:
        return self._target_pass() + [e for arm in self.arms for e in arm.examples[:min(self.s.warm_start_examples, len(arm))]]

    def warm_start_tokens(self) -> int:
        """Tokens the warm start probes (forward + LM-head backward), counted without running the model
        and without advancing the template RNG — the same whether its rewards come from the cache or not."""
        state = self.template_rng.bit_generator.state
        try:
            return sum(self._batch([e])[1] for e in self._warm_start_examples())
        finally:
            self.template_rng.bit_generator.state = state

    def warm_start_rewards(self, kinds: tuple[str, ...] = ("ga", "gms", "agg")) -> dict[str, dict[str, float]]:
        """UCB1-FLAD / Exploit-Only warm start at the current (initial) weights: the target gradient on
        the whole few-shot train half vs each arm's gradient on its first min(1000, size) examples,
        both weighted as in a training step (the arm's as one micro-batch's share)."""
        scale = 1.0 / (self.s.batch_size * self.s.grad_accum)
        target = self._head_gradient(self._target_pass(), scale)
        out: dict[str, dict[str, float]] = {}
        for arm in self.arms:
            first = arm.examples[:min(self.s.warm_start_examples, len(arm))]
            grad = self._head_gradient(first, scale * self.s.batch_size / len(first))
            out[arm.name] = {k: flad_reward(grad, target, k) for k in kinds}
        return out

    # -- the loop -----------------------------------------------------------------------------------
    def run(self) -> LoopResult:
        s, model, head = self.s, self.bundle.model, self.bundle.lm_head
        self.probe_tokens = 0     # the loop's own probes (a warm start before it is counted separately)
        optimizer, scheduler = build_optimizer(model, s)
        k = len(self.domains)
        scale = 1.0 / (s.batch_size * s.grad_accum)
        curves: dict[str, list[Any]] = {"train_steps": [], "train_loss": [], "target_loss": [], "lr": [],
                                        "eval_steps": [], "val_acc": []}
        drawn_log: list[dict[str, Any]] = []
        best_acc, best_step, best_state, bad_evals = -1.0, 0, None, 0
        start, eval_seconds = time.perf_counter(), 0.0
        window_draws = np.zeros(k)
        stopped_early, step = False, 0
        model.train()
        if self.progress is not None:
            self.progress.start()
        for step in range(1, s.steps + 1):
            t0 = time.perf_counter()
            plan = self.strategy.plan(step, s.grad_accum, s.batch_size)
            self.strategy_seconds += time.perf_counter() - t0
            stats = DomainStats.zeros(k)
            aux_sum: dict[int, torch.Tensor] = {}
            aux_count: dict[int, int] = {}
            step_loss, step_examples = 0.0, 0
            for row in plan:
                domains, counts = np.unique(row, return_counts=True)
                examples, owners = [], []
                for d, c in zip(domains, counts):
                    examples += self._examples(int(d), int(c))
                    owners += [int(d)] * int(c)
                    window_draws[d] += c
                t1 = time.perf_counter()
                before = head.grad.detach().clone() if (self.bandit and head.grad is not None) else None
                self.reward_seconds += time.perf_counter() - t1
                losses = self._losses(examples)
                (losses.sum() * scale).backward()
                values = losses.detach().float().cpu().numpy()
                for d in domains:  # statistics of per-example mean losses ("tokens" counts examples)
                    mine = values[np.asarray(owners) == d]
                    stats.token_loss_sum[d] += mine.sum()
                    stats.tokens[d] += len(mine)
                    stats.sequences[d] += len(mine)
                if len(domains) == 1:
                    stats.microbatch_loss_sum[domains[0]] += values.mean()
                    stats.microbatches[domains[0]] += 1
                step_loss += float(values.sum())
                step_examples += len(values)
                if self.bandit:
                    t1 = time.perf_counter()
                    delta = head.grad.detach().float() - (before.float() if before is not None else 0.0)
                    arm = int(domains[0])
                    aux_sum[arm] = aux_sum[arm] + delta if arm in aux_sum else delta
                    aux_count[arm] = aux_count.get(arm, 0) + 1
                    self.reward_seconds += time.perf_counter() - t1
            target_loss = float("nan")
            if self.bandit:  # the pass over the whole few-shot target train half
                t1 = time.perf_counter()
                before = head.grad.detach().clone()
                self.reward_seconds += time.perf_counter() - t1
                total, count = 0.0, 0
                examples = self._target_pass()
                for i in range(0, len(examples), s.batch_size):
                    loss_sum, n = self._backward(examples[i:i + s.batch_size], scale)
                    total, count = total + loss_sum, count + n
                target_loss = total / count
                step_loss, step_examples = step_loss + total, step_examples + count
                target_before = head.grad.detach().float() - before.float()
            if s.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            if self.bandit:
                t1 = time.perf_counter()
                target_grad = (self._head_gradient(self._target_pass(), scale) if self.target_gradient == "after"
                               else target_before)
                rewards = np.full(k, np.nan)
                for arm, grad in aux_sum.items():
                    rewards[arm] = flad_reward(grad / aux_count[arm], target_grad, self.reward_kind)
                stats.rewards = rewards
                self.reward_seconds += time.perf_counter() - t1
            t0 = time.perf_counter()
            self.strategy.update(step, stats, scheduler.get_last_lr()[0])
            self.strategy_seconds += time.perf_counter() - t0
            if self.progress is not None:
                self.progress.update(step, step_loss / max(step_examples, 1),
                                     format_top(self.domains, current_mixture(self.strategy)))
            if step % s.log_every == 0 or step == 1:
                curves["train_steps"].append(step)
                curves["train_loss"].append(step_loss / max(step_examples, 1))
                curves["target_loss"].append(target_loss)
                curves["lr"].append(scheduler.get_last_lr()[0])
                drawn_log.append({"step": step, "draws": window_draws.tolist()})
                window_draws = np.zeros(k)
            if step % s.eval_every == 0 or step == s.steps:
                t0 = time.perf_counter()
                acc = accuracy(self.bundle, self.target.validation, self.protocol, s.eval_batch_size)
                eval_seconds += time.perf_counter() - t0
                curves["eval_steps"].append(step)
                curves["val_acc"].append(acc)
                if acc > best_acc:
                    best_acc, best_step, bad_evals = acc, step, 0
                    best_state = {n: p.detach().to("cpu", copy=True) for n, p in model.state_dict().items()}
                else:
                    bad_evals += 1
                self.log(f"step {step}: val acc {acc:.3f} (best {best_acc:.3f} at {best_step})")
                self.curves = curves
                self.on_evaluation()
                if bad_evals >= s.patience:
                    stopped_early = True
                    break
        if self.progress is not None:
            self.progress.close()
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
        wall = time.perf_counter() - start
        timing = {"train_seconds": wall - eval_seconds, "eval_seconds": eval_seconds,
                  "strategy_seconds": self.strategy_seconds, "reward_seconds": self.reward_seconds}
        return LoopResult(curves, best_step, best_acc, step, stopped_early, self.train_tokens, timing, drawn_log,
                          self.probe_tokens)
