"""The held-out-evaluation capability: per-domain held-out losses whenever the method asks.

Served to strategies that declare `Capability.HELD_OUT_EVALUATION` (Skill-It, Aioli). After every
optimizer step the strategy is asked `held_out_due(step)`; when it says yes, every domain's mean
token loss on the task's validation blocks (never test) is measured at the updated weights and
handed to `observe_held_out(step, losses)` before the strategy's own `update(step, stats)`. Step 0
(the initial model) is asked once, just before the first micro-batch of a fresh run is trained.

The scored tokens are charged to the method as extra forward tokens (`forward_tokens`, summed by
the run's compute accounting). Under DDP each rank scores its share and the losses are reduced,
so every rank hands the strategy the same vector.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from ..evaluation.per_domain import evaluate_per_domain


class HeldOutEvaluation:
    local_gradients = False

    def __init__(self, blocks: Sequence[np.ndarray], batch_size: int, token_offset: int):
        self.blocks, self.batch_size, self.token_offset = blocks, batch_size, token_offset
        # Tokens whose loss one evaluation scores (the targets of every block, all ranks together).
        self.tokens_per_evaluation = int(sum(len(b) * max(len(b[0]) - 1, 0) for b in blocks if len(b)))
        self.forward_tokens = 0
        self.evaluations = 0
        self.seconds = 0.0
        self._asked_initial = False   # step 0 is asked once, on a fresh run only

    def _evaluate(self, module: Any, step: int) -> None:
        strategy = module.trainer.datamodule.feeder.strategy
        if not strategy.held_out_due(step):
            return
        start = time.perf_counter()
        trainer = module.trainer
        losses = evaluate_per_domain(module.model, self.blocks, self.batch_size, self.token_offset,
                                     module.device, trainer.world_size, trainer.global_rank)
        strategy.observe_held_out(step, np.asarray(losses, dtype=np.float64))
        self.forward_tokens += self.tokens_per_evaluation
        self.evaluations += 1
        self.seconds += time.perf_counter() - start

    def before_microbatch(self, module: Any, batch: dict[str, Any]) -> None:
        if not self._asked_initial and module.trainer.global_step == 0:
            self._asked_initial = True
            self._evaluate(module, 0)

    def after_microbatch(self, module: Any, result: Any) -> None:
        pass

    def before_optimizer_step(self, module: Any) -> None:
        pass

    def after_optimizer_step(self, module: Any, stats: Any) -> None:
        self._evaluate(module, module.trainer.global_step)

    def state_dict(self) -> dict[str, Any]:
        return {"forward_tokens": self.forward_tokens, "evaluations": self.evaluations, "seconds": self.seconds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.forward_tokens, self.evaluations = state["forward_tokens"], state["evaluations"]
        self.seconds = state["seconds"]
        self._asked_initial = True
