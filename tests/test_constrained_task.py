"""embedded-pretrain-constrained: embedded-pretrain with a quarter of the training sequences (the
data-constrained regime) — same chains, floors, held-out sets, model and budget."""

from benchmark.config import load_task
from benchmark.data.pretrain_task import build_task_data


def test_the_constrained_task_differs_from_embedded_pretrain_only_in_corpus_size(tmp_path):
    base, constrained = load_task("embedded-pretrain"), load_task("embedded-pretrain-constrained")
    assert constrained["data"]["size_scale"] == 0.25
    for section in ("model", "training", "evaluation", "quick", "family", "default_methods"):
        assert constrained[section] == base[section], section
    assert {k: v for k, v in constrained["data"].items() if k != "size_scale"} == \
        {k: v for k, v in base["data"].items() if k != "size_scale"}
    full = build_task_data(dict(base["data"]), tmp_path / "full")
    small = build_task_data(dict(constrained["data"]), tmp_path / "small")
    assert small.domains == full.domains and small.floors == full.floors
    for domain, big, little in zip(full.domains, full.sizes, small.sizes):
        assert abs(little / big - 0.25) < 0.02, domain          # emails: 40 → 10 sequences
    assert all((a == b).all() for a, b in zip(small.validation_blocks, full.validation_blocks))
    assert all((a == b).all() for a, b in zip(small.test_blocks, full.test_blocks))
    # the budget (500 × 16 sequences) repeats the smallest domain ~80 times under uniform sampling
    train = base["training"]
    sequences = train["steps"] * train["batch_size"] / len(full.domains)
    seq_tokens = small.sizes[full.domains.index("emails")] / (base["data"]["seq_len"] + 1)
    assert 70 < sequences / seq_tokens < 90
