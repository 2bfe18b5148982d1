"""FLAD data on small local files in the hub's exact formats: bigscience/P3 template configs
(T0Mix / P3 arms, targets) and raw rows + promptsource templates (super_glue/cb, hellaswag)."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmark.flad.arms import (P3_LEAKY_ARMS, T0_HELD_OUT, arm_list, assign_configs, p3_prefix, published_arms,
                                 resolve_targets)
from benchmark.flad.data import arm_configs, few_shot_indices, load_arm, load_target
from benchmark.flad.evaluation import accuracy, choice_scores, lm_eval_accuracy
from benchmark.flad.models import ModelBundle, build_word_tokenizer
from benchmark.flad.sources import P3Source, PromptsourceSource, local_raw_loader, tfew_hellaswag_templates


def test_published_arm_lists_and_leakage_filter():
    assert len(published_arms("t0mix")) == 38 and len(set(published_arms("t0mix"))) == 38
    assert len(published_arms("p3")) == 261
    default = arm_list("p3")
    assert len(default) == 261 - len(P3_LEAKY_ARMS) and not set(P3_LEAKY_ARMS) & set(default)
    assert set(P3_LEAKY_ARMS) <= set(arm_list("p3", "as_published"))
    assert "adversarial_qa/dbidaf" in arm_list("t0mix") and "duorc/ParaphraseRC" in arm_list("t0mix")
    with pytest.raises(ValueError, match="arm_list"):
        arm_list("p3", "leaky")
    assert len(T0_HELD_OUT) == 11
    assert {t.shots for t in T0_HELD_OUT.values()} == {20, 32, 50, 70}
    assert resolve_targets("all", list(T0_HELD_OUT)) == list(T0_HELD_OUT)
    with pytest.raises(ValueError, match="allowed: all, anli_r1"):
        resolve_targets("boolq", list(T0_HELD_OUT))


def test_p3_config_names_map_to_arms():
    assert p3_prefix("cos_e/v1.11") == "cos_e_v1.11_" and p3_prefix("ai2_arc/ARC-Challenge") == "ai2_arc_ARC_Challenge_"
    assert p3_prefix("Zaid/quac_expanded") == "Zaid_quac_expanded_" and p3_prefix("ropes") == "ropes_"
    configs = ["wiki_qa_Is_This_True_", "wiki_hop_original_choose_best_object", "glue_mrpc_equivalent",
               "glue_mrpc_equivalent_score_eval", "anli_GPT_3_style_r1", "anli_GPT_3_style_r2",
               "anli_GPT_3_style_r1_score_eval"]
    prefixes = {"wiki_qa": "wiki_qa_", "wiki_hop/original": "wiki_hop_original_", "glue/mrpc": "glue_mrpc_",
                "anli_r1": "anli_", "anli_r2": "anli_"}
    out = assign_configs(configs, prefixes, {"anli_r1": "_r1", "anli_r2": "_r2"})
    assert out == {"wiki_qa": ["wiki_qa_Is_This_True_"], "wiki_hop/original": ["wiki_hop_original_choose_best_object"],
                   "glue/mrpc": ["glue_mrpc_equivalent"], "anli_r1": ["anli_GPT_3_style_r1"],
                   "anli_r2": ["anli_GPT_3_style_r2"]}


def _p3_row(text: str, target: str, choices=None) -> dict:
    """A row as bigscience/P3 stores it (token ids are T5's; arbitrary here)."""
    row = {"inputs": [len(w) for w in text.split()], "inputs_pretokenized": text,
           "targets": [len(target)], "targets_pretokenized": target}
    if choices is not None:
        row["answer_choices"] = choices
    return row


def _write(root, config, split, rows, fmt="parquet"):
    path = root / config / f"{split}.{fmt}"
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def p3_dir(tmp_path):
    root = tmp_path / "P3"
    for t, template in enumerate(["equivalent", "paraphrase", "same_thing"]):  # glue/mrpc: classification
        _write(root, f"glue_mrpc_{template}", "train",
               [_p3_row(f"Sentence {i} and its pair, template {t}. Same?", " yes" if i % 2 else "no", ["no", "yes"])
                for i in range(30 + 10 * t)])
    for template in ["answer_the_following_q", "based_on"]:                  # adversarial_qa: generative
        _write(root, f"adversarial_qa_dbidaf_{template}", "train",
               [_p3_row(f"Context {i}. Question {i}?", f"answer {i}") for i in range(25)], fmt="jsonl")
    _write(root, "glue_mrpc_equivalent_score_eval", "train", [_p3_row("x", "yes", ["no", "yes"])])
    cb_choices = ["True", "False", "Neither"]
    for template, words in [("GPT_3_style", "Question: {h} True, False, or Neither?"),
                            ("can_we_infer", "Suppose {p} Can we infer that {h}?"),
                            ("MNLI_crowdsource", "{p} Using only the above, is {h} definitely correct?")]:
        for split, n in [("train", 40), ("validation", 12)]:
            rows = [_p3_row(words.format(p=f"premise{i}.", h=f"hypothesis{i}"), cb_choices[i % 3], cb_choices)
                    for i in range(n)]
            _write(root, f"super_glue_cb_{template}", split, rows)
    # A filtered template (fewer rows than the others): its rows cannot be aligned by position.
    _write(root, "super_glue_cb_always_sometimes_never", "train",
           [_p3_row(f"filtered {i}", "True", cb_choices) for i in range(7)])
    _write(root, "super_glue_cb_always_sometimes_never", "validation",
           [_p3_row(f"filtered {i}", "True", cb_choices) for i in range(12)])
    return root


def test_t0mix_arms_pool_templates_from_p3_files(p3_dir):
    source = P3Source(p3_dir)
    configs = arm_configs(source, ["glue/mrpc", "adversarial_qa/dbidaf"])
    assert configs["glue/mrpc"] == ["glue_mrpc_equivalent", "glue_mrpc_paraphrase", "glue_mrpc_same_thing"]
    arm = load_arm(source, "glue/mrpc", configs["glue/mrpc"], max_examples=45, template_seed=3)
    assert len(arm) == 45                             # capped; the longest template has 50 rows
    assert {e.template for e in arm.examples} == set(configs["glue/mrpc"])
    assert {e.template for e in arm.examples[40:]} == {"glue_mrpc_same_thing"}   # only it has rows ≥ 40
    assert arm.examples[1].target == "yes" and arm.examples[1].choices == ("no", "yes") and arm.examples[1].label == 1
    again = load_arm(source, "glue/mrpc", configs["glue/mrpc"], max_examples=45, template_seed=3)
    assert [e.template for e in again.examples] == [e.template for e in arm.examples]   # seeded
    other = load_arm(source, "glue/mrpc", configs["glue/mrpc"], max_examples=45, template_seed=4)
    assert [e.template for e in other.examples] != [e.template for e in arm.examples]
    qa = load_arm(source, "adversarial_qa/dbidaf", configs["adversarial_qa/dbidaf"], max_examples=10_000)
    assert len(qa) == 25 and qa.examples[0].choices is None and qa.examples[3].target == "answer 3"


def test_target_few_shot_split_as_flad_draws_it(p3_dir):
    spec = T0_HELD_OUT["cb"]
    target = load_target(P3Source(p3_dir), spec, split_seed=100)
    rows = list(range(40))
    np.random.seed(100)
    np.random.shuffle(rows)  # FLAD's code: np.random.seed(seed); np.random.shuffle(train rows)
    assert target.few_shot_indices == rows[:32] == few_shot_indices(40, 32, 100)
    assert len(target.train) == 16 and len(target.validation) == 16 and len(target.test) == 12
    assert "super_glue_cb_always_sometimes_never" in target.skipped_templates   # filtered in 'train'
    assert set(target.train[0]) == {"super_glue_cb_GPT_3_style", "super_glue_cb_MNLI_crowdsource",
                                    "super_glue_cb_can_we_infer"}
    first = target.few_shot_indices[0]
    assert target.train[0]["super_glue_cb_can_we_infer"].input == f"Suppose premise{first}. Can we infer that hypothesis{first}?"
    assert all(d.label == ["True", "False", "Neither"].index(d.target) for d in target.test)
    assert len({d.template for d in target.test}) > 1                   # one random template per example
    assert len({d.template for d in target.test_fixed}) == 1            # the lm_eval_acc protocol's fixed one
    again = load_target(P3Source(p3_dir), spec, split_seed=100)
    assert [d.template for d in again.test] == [d.template for d in target.test]


def test_evaluator_runs_on_the_local_target_files(p3_dir, tmp_path):
    """lm-eval over the cb documents loaded from P3-format files, with a small decoder."""
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM
    target = load_target(P3Source(p3_dir), T0_HELD_OUT["cb"], split_seed=42)
    words = sorted({w for d in target.test + target.test_fixed for w in d.input.split() + list(d.choices)})
    tokenizer = build_word_tokenizer(["<pad>", "<eos>", "<unk>"] + words)
    config = GPTNeoXConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=64, tie_word_embeddings=False)
    bundle = ModelBundle(GPTNeoXForCausalLM(config).eval(), tokenizer, "causal")
    for protocol, docs in [("t0_rank", target.test), ("lm_eval_acc", target.test_fixed)]:
        result = lm_eval_accuracy(bundle, docs, protocol, f"flad_cb_local_{protocol}", tmp_path, batch_size=8)
        assert result["n"] == 12 and result["protocol"] == protocol
        assert result["acc"] == pytest.approx(accuracy(bundle, docs, protocol))
        np.testing.assert_allclose(result["scores"][0], choice_scores(bundle, docs[:1], protocol)[0], rtol=1e-4)


CB_TEMPLATES = """dataset: super_glue
subset: cb
templates:
  2e76cd0f-68ca-4f03-83ed-11cf15b25a84: !Template
    answer_choices: Yes ||| No ||| Maybe
    id: 2e76cd0f-68ca-4f03-83ed-11cf15b25a84
    jinja: 'Suppose {{premise}} Can we infer that "{{hypothesis}}"? Yes, no, or maybe?
      ||| {% if label !=-1 %}{{ answer_choices[label] }}{% endif %}'
    metadata: !TemplateMetadata
      choices_in_prompt: true
      languages:
      - en
      metrics:
      - Accuracy
      original_task: true
    name: can we infer
    reference: Webson & Pavlick 2021
  75db2bc2-3caa-4956-9653-13c7dd6255df: !Template
    answer_choices: True ||| False ||| Neither
    id: 75db2bc2-3caa-4956-9653-13c7dd6255df
    jinja: '{{premise}}

      Question: {{hypothesis}} True, False, or Neither? ||| {% if label !=-1 %}{{
      answer_choices[label] }}{% endif %}'
    metadata: !TemplateMetadata
      choices_in_prompt: true
      languages:
      - en
      metrics:
      - Accuracy
      original_task: true
    name: GPT-3 style
    reference: 'Same as reported in Figure G7 of the GPT-3 paper'
"""


def test_promptsource_route_on_raw_super_glue_cb_rows(tmp_path):
    templates = tmp_path / "templates" / "super_glue" / "cb"
    templates.mkdir(parents=True)
    (templates / "templates.yaml").write_text(CB_TEMPLATES)
    raw = tmp_path / "raw" / "super_glue" / "cb"
    raw.mkdir(parents=True)
    for split, n, labelled in [("train", 40, True), ("validation", 9, True), ("test", 5, False)]:
        rows = [{"premise": f"It rained {i} days.", "hypothesis": f"It rained {i} times", "idx": i,
                 "label": i % 3 if labelled else -1} for i in range(n)]
        (raw / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = T0_HELD_OUT["cb"]
    source = PromptsourceSource(tmp_path / "templates", {spec.p3_prefix: spec.hub}, local_raw_loader(tmp_path / "raw"))
    assert source.config_names() == ["super_glue_cb_GPT_3_style", "super_glue_cb_can_we_infer"]
    rows = source.rows("super_glue_cb_can_we_infer", "train")
    assert rows[4] == {"inputs_pretokenized": 'Suppose It rained 4 days. Can we infer that "It rained 4 times"? '
                                              "Yes, no, or maybe?", "targets_pretokenized": "No",
                       "answer_choices": ["Yes", "No", "Maybe"], "_index": 4}
    assert source.rows("super_glue_cb_GPT_3_style", "test") == []      # unlabelled: no target, no row
    target = load_target(source, spec, split_seed=42)
    assert len(target.train) == 16 and len(target.test) == 9
    assert all(set(t) == set(source.config_names()) for t in target.train)


def test_tfew_hellaswag_templates_on_raw_rows():
    row = {"ind": 4, "activity_label": "Removing ice from car", "ctx_a": "Then, the man writes over the snow.",
           "ctx_b": "then", "ctx": "Then, the man writes over the snow. then",
           "endings": [", the man adds wax.", ", a person is seen.", ", the man puts on a christmas coat.",
                       ", the man continues removing the snow."], "source_id": "activitynet~v_-1IBHYS3L-Y",
           "split": "train", "split_type": "indomain", "label": "3"}
    templates = tfew_hellaswag_templates()
    assert len(templates) == 7
    out = templates[3].apply(row)
    assert out["inputs_pretokenized"] == "How does this sentence end? Then, the man writes over the snow. then"
    assert out["targets_pretokenized"] == ", the man continues removing the snow." and len(out["answer_choices"]) == 4
    assert templates[5].apply(row)["inputs_pretokenized"].startswith(
        "Complete the description with an appropriate ending:\n First, then, the man writes over the snow. Then, then")


ANLI_TEMPLATES = """dataset: anli
templates:
  c4ed37ae-d7d7-4197-a725-ef2152fa3b1f: !Template
    answer_choices: Correct ||| Inconclusive ||| Incorrect
    id: c4ed37ae-d7d7-4197-a725-ef2152fa3b1f
    jinja: '{{premise}} Using only the above description and what you know about the
      world, "{{hypothesis}}" is definitely correct, incorrect, or inconclusive? |||
      {{ answer_choices[label] }}'
    metadata: !TemplateMetadata
      choices_in_prompt: true
      metrics:
      - Accuracy
      original_task: true
    name: MNLI crowdsource
    reference: Adapted from Williams et al. 2018's instructions to crowdsourcing workers.
"""


def test_promptsource_anli_rounds_are_split_suffixes(tmp_path):
    (tmp_path / "templates" / "anli").mkdir(parents=True)
    (tmp_path / "templates" / "anli" / "templates.yaml").write_text(ANLI_TEMPLATES)
    raw = tmp_path / "raw" / "anli" / "_"
    raw.mkdir(parents=True)
    for split, n in [("train_r1", 60), ("test_r1", 7), ("train_r2", 55), ("test_r2", 5)]:
        rows = [{"uid": f"{split}-{i}", "premise": f"P{i}.", "hypothesis": f"H{i}", "label": i % 3, "reason": ""}
                for i in range(n)]
        (raw / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    r1, r2 = T0_HELD_OUT["anli_r1"], T0_HELD_OUT["anli_r2"]
    source = PromptsourceSource(tmp_path / "templates", {"anli_": ("anli", None)}, local_raw_loader(tmp_path / "raw"),
                                suffixes={"anli_": ["_r1", "_r2"]})
    assert source.config_names() == ["anli_MNLI_crowdsource_r1", "anli_MNLI_crowdsource_r2"]
    first = load_target(source, r1, split_seed=42)
    second = load_target(source, r2, split_seed=42)
    assert len(first.train) == 25 and len(first.test) == 7 and len(second.test) == 5
    assert first.templates == ["anli_MNLI_crowdsource_r1"]
