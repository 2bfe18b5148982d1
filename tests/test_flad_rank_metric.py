"""T0 rank classification and lm-eval's summed-log-likelihood protocol, through lm-eval, against
log-probabilities computed here independently — for an encoder-decoder (tiny T5) and a decoder."""

import math

import numpy as np
import pytest
import torch
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, T5Config, T5ForConditionalGeneration

from benchmark.flad.data import Example
from benchmark.flad.evaluation import choice_scores, lm_eval_accuracy
from benchmark.flad.models import ModelBundle, build_word_tokenizer

WORDS = ["<pad>", "<eos>", "<unk>"] + [f"w{i}" for i in range(30)]
DOCS = [
    Example("w1 w2 w3", "w10", ("w10", "w11"), "t", 0),
    Example("w4 w5", "w13 w14", ("w12", "w13 w14", "w15"), "t", 1),   # a two-token choice
    Example("w6 w7 w8 w9", "w20", ("w21", "w20"), "t", 1),
    Example("w3", "w22", ("w22", "w23 w24 w25"), "t", 0),
]


def _t5() -> T5ForConditionalGeneration:
    torch.manual_seed(0)
    config = T5Config(vocab_size=len(WORDS), d_model=32, d_kv=8, d_ff=64, num_layers=1, num_decoder_layers=1,
                      num_heads=2, dropout_rate=0.0, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
                      tie_word_embeddings=False)
    return T5ForConditionalGeneration(config).eval()


def _decoder() -> GPTNeoXForCausalLM:
    torch.manual_seed(0)
    config = GPTNeoXConfig(vocab_size=len(WORDS), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=64, tie_word_embeddings=False,
                           bos_token_id=1, eos_token_id=1)
    return GPTNeoXForCausalLM(config).eval()


def _ids(tokenizer, text):
    return tokenizer(text, add_special_tokens=False)["input_ids"]


@torch.no_grad()
def independent_scores(model, tokenizer, kind, docs, protocol):
    """Per choice: Σ or mean of log p(choice tokens [+ EOS] | prompt), computed by hand."""
    eos = tokenizer.eos_token_id
    out = []
    for doc in docs:
        prompt = _ids(tokenizer, doc.input)
        row = []
        for choice in doc.choices:
            target = _ids(tokenizer, choice) + ([eos] if protocol == "t0_rank" else [])
            if kind == "seq2seq":
                decoder_in = [model.config.decoder_start_token_id] + target[:-1]
                logits = model(input_ids=torch.tensor([prompt]), decoder_input_ids=torch.tensor([decoder_in])).logits[0]
                logp = torch.log_softmax(logits.double(), -1)
                values = [float(logp[i, t]) for i, t in enumerate(target)]
            else:
                ids = prompt + target
                logp = torch.log_softmax(model(input_ids=torch.tensor([ids[:-1]])).logits[0].double(), -1)
                values = [float(logp[len(prompt) - 1 + i, t]) for i, t in enumerate(target)]
            row.append(sum(values) / len(values) if protocol == "t0_rank" else sum(values))
        out.append(row)
    return out


@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
@pytest.mark.parametrize("protocol", ["t0_rank", "lm_eval_acc"])
def test_lm_eval_scores_match_hand_computed(tmp_path, kind, protocol):
    tokenizer = build_word_tokenizer(WORDS)
    model = _t5() if kind == "seq2seq" else _decoder()
    bundle = ModelBundle(model, tokenizer, kind)
    expected = independent_scores(model, tokenizer, kind, DOCS, protocol)
    result = lm_eval_accuracy(bundle, DOCS, protocol, f"flad_unit_{kind}_{protocol}", tmp_path, batch_size=4)
    assert result["protocol"] == protocol and result["n"] == len(DOCS)
    for got, want in zip(result["scores"], expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    predicted = [int(np.argmax(row)) for row in expected]
    assert result["acc"] == pytest.approx(np.mean([p == d.label for p, d in zip(predicted, DOCS)]))
    # The in-process scorer used for early stopping gives the same numbers.
    for got, want in zip(choice_scores(bundle, DOCS, protocol, batch_size=3), expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_t0_protocol_differs_from_summed_loglikelihood():
    """Mean per token (with EOS) and summed log-likelihood can rank a multi-token choice differently:
    the protocols are not interchangeable, which is why every number names its protocol."""
    tokenizer = build_word_tokenizer(WORDS)
    model = _decoder()
    t0 = independent_scores(model, tokenizer, "causal", DOCS, "t0_rank")
    summed = independent_scores(model, tokenizer, "causal", DOCS, "lm_eval_acc")
    long_choice = summed[3][1]                   # three tokens: a much lower sum than one token
    assert long_choice < summed[3][0] - math.log(2)
    assert t0[3] != pytest.approx(summed[3])
