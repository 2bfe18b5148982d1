"""The real `lm_eval` CLI with T0 rank classification registered as the model `hf-t0rank`
(lm-eval's `hf` model sums log-likelihoods without EOS: the `lm_eval_acc` protocol):

    python -m benchmark.flad.lm_eval_cli --model hf-t0rank --model_args pretrained=<run>/model \\
        --tasks flad_embedded_flad_tgt_a_t0_rank --include_path tasks/lm_eval
"""

from lm_eval.__main__ import cli_evaluate
from lm_eval.api.registry import register_model

from .evaluation import t0_rank_lm_class

register_model("hf-t0rank")(t0_rank_lm_class())

if __name__ == "__main__":
    cli_evaluate()
