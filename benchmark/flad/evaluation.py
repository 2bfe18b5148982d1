"""Rank-classification evaluation of FLAD targets, in two named protocols.

- "t0_rank" (FLAD / T0): each answer choice + EOS is scored by its MEAN per-token log-likelihood
  after the prompt; highest wins. One seeded random template per test example.
- "lm_eval_acc" (lm-eval's multiple_choice default): SUMMED log-likelihood of the choice, no EOS,
  one fixed template; lm-eval's `acc`.

Test accuracy goes through lm-eval (task templates in tasks/lm_eval/flad/, local JSONL documents,
`T0RankLM` — an HFLM whose log-likelihoods are the T0 protocol's — or lm-eval's own HFLM). The
same scores are computed in-process by `choice_scores` for the frequent early-stopping
evaluations on the few-shot validation half (a test checks both paths agree).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from ..evaluation.downstream import quiet_simple_evaluate, silence_lm_eval
from ..paths import resource_dir
from .models import ModelBundle, encode_pair, make_batch, token_logprobs

PROTOCOLS = {
    "t0_rank": "T0 rank classification: mean per-token log-likelihood of choice + EOS, one seeded random "
               "template per example",
    "lm_eval_acc": "lm-eval multiple_choice acc: summed log-likelihood of the choice (no EOS), one fixed template",
    "lm_eval_builtin": "lm-eval's built-in task for the target (its own prompt and hub data): summed log-likelihood acc",
}


def check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise ValueError(f"evaluation.protocol: must be one of {list(PROTOCOLS)}, got {protocol!r}")


def _requests(bundle: ModelBundle, docs: list[Any], protocol: str) -> list[tuple[int, list[int], list[int]]]:
    eos = bundle.tokenizer.eos_token_id
    out = []
    for d, doc in enumerate(docs):
        for choice in doc.choices:
            ctx, cont = encode_pair(bundle.tokenizer, bundle.kind, doc.input, " " + choice)
            out.append((d, ctx, cont + [eos] if protocol == "t0_rank" else cont))
    return out


@torch.no_grad()
def choice_scores(bundle: ModelBundle, docs: list[Any], protocol: str = "t0_rank", batch_size: int = 64,
                  ) -> list[np.ndarray]:
    """Per document, the score of each choice under `protocol` (higher is better)."""
    check_protocol(protocol)
    was_training = bundle.model.training
    bundle.model.eval()
    requests = _requests(bundle, docs, protocol)
    values = np.empty(len(requests))
    for start in range(0, len(requests), batch_size):
        chunk = requests[start:start + batch_size]
        logp, mask = token_logprobs(bundle, make_batch(bundle, [(c, t) for _, c, t in chunk]))
        total = logp.sum(1).double().cpu().numpy()
        if protocol == "t0_rank":
            total = total / mask.sum(1).cpu().numpy()
        values[start:start + len(chunk)] = total
    bundle.model.train(was_training)
    out, cursor = [], 0
    for doc in docs:
        out.append(values[cursor:cursor + len(doc.choices)])
        cursor += len(doc.choices)
    return out


def accuracy(bundle: ModelBundle, docs: list[Any], protocol: str = "t0_rank", batch_size: int = 64) -> float:
    scores = choice_scores(bundle, docs, protocol, batch_size)
    return float(np.mean([int(np.argmax(s)) == d.label for s, d in zip(scores, docs)]))


# -- lm-eval ----------------------------------------------------------------------------------------
def t0_rank_lm_class() -> type:
    """`T0RankLM`: lm-eval's HFLM with T0's scoring — EOS appended to every continuation, and the
    log-likelihood divided by the continuation's token count (mean per token)."""
    from lm_eval.models.huggingface import HFLM

    class T0RankLM(HFLM):
        def _loglikelihood_tokens(self, requests, disable_tqdm=False, override_bs=None):  # noqa: ANN001
            eos = self.tokenizer.eos_token_id
            with_eos = [(key, ctx, list(cont) + [eos]) for key, ctx, cont in requests]
            results = super()._loglikelihood_tokens(with_eos, disable_tqdm=disable_tqdm, override_bs=override_bs)
            return [(ll / len(cont), greedy) for (ll, greedy), (_, _, cont) in zip(results, with_eos)]

    return T0RankLM


def lm_eval_task_name(task: str, target: str, protocol: str) -> str:
    """e.g. flad_embedded_flad_tgt_a_t0_rank (the shipped task files use the same names)."""
    return f"flad_{task.replace('-', '_')}_{target}_{protocol}"


def task_yaml(task_name: str, protocol: str, test_file: str, include: str | None = None) -> str:
    """A task file that includes the protocol's template (tasks/lm_eval/flad/<protocol>.yaml, by
    absolute path unless `include` is given); `test_file` is absolute, or relative to
    tasks/lm_eval/ (see tasks/lm_eval/local_json.py)."""
    check_protocol(protocol)
    template = resource_dir("tasks") / "lm_eval" / "flad" / f"{protocol}.yaml"
    return yaml.safe_dump({"include": include or str(template.resolve()), "task": task_name,
                           "dataset_kwargs": {"data_files": {"test": test_file}}}, sort_keys=False)


def write_docs(path: Path, docs: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(d.as_doc() if hasattr(d, "as_doc") else d) + "\n" for d in docs))
    return path


def write_task(directory: Path, task_name: str, docs: list[Any], protocol: str) -> Path:
    """JSONL documents + a task YAML naming them by absolute path. Returns the directory (lm-eval's
    include path)."""
    data = write_docs(directory / f"{task_name}.jsonl", docs)
    (directory / f"{task_name}.yaml").write_text(task_yaml(task_name, protocol, str(data.resolve())))
    return directory


def lm_eval_accuracy(bundle: ModelBundle, docs: list[Any], protocol: str, task_name: str, work_dir: Path,
                     batch_size: int = 64, seed: int = 0) -> dict[str, Any]:
    """Accuracy of `docs` through lm-eval under `protocol`; also the per-document choice scores."""
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    silence_lm_eval()
    include = write_task(work_dir / task_name, task_name, docs, protocol)
    was_training = bundle.model.training
    bundle.model.eval()
    cls = t0_rank_lm_class() if protocol == "t0_rank" else HFLM
    max_length = getattr(bundle.model.config, "max_position_embeddings", None) or 2048
    lm = cls(pretrained=bundle.model, tokenizer=bundle.tokenizer, batch_size=batch_size, max_length=max_length,
             backend="seq2seq" if bundle.kind == "seq2seq" else "causal")
    out = quiet_simple_evaluate(lm, [task_name], TaskManager(include_path=str(include), include_defaults=False),
                                seed, num_fewshot=0, log_samples=True)
    bundle.model.train(was_training)
    samples = sorted(out["samples"][task_name], key=lambda s: s["doc_id"])
    scores = [[float(r[0]) for r in s["filtered_resps"]] for s in samples]
    return {"acc": float(out["results"][task_name]["acc,none"]), "n": len(samples), "protocol": protocol,
            "protocol_description": PROTOCOLS[protocol], "scores": scores}


def lm_eval_builtin_accuracy(bundle: ModelBundle, task: str, batch_size: int = 64, seed: int = 0) -> dict[str, Any]:
    """The "lm_eval_builtin" protocol: lm-eval's own definition of a held-out target (e.g. `cb`,
    `sglue_rte`, `anli_r1`), with its data from the hub — not runnable offline."""
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    silence_lm_eval()
    was_training = bundle.model.training
    bundle.model.eval()
    lm = HFLM(pretrained=bundle.model, tokenizer=bundle.tokenizer, batch_size=batch_size,
              backend="seq2seq" if bundle.kind == "seq2seq" else "causal")
    out = quiet_simple_evaluate(lm, [task], TaskManager(), seed, num_fewshot=0)
    bundle.model.train(was_training)
    metrics = out["results"][task]
    return {"acc": float(metrics["acc,none"]), "acc_norm": metrics.get("acc_norm,none"), "task": task,
            "protocol": "lm_eval_builtin", "protocol_description": PROTOCOLS["lm_eval_builtin"]}
