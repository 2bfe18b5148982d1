"""The mixture feeder: live plans, determinism, rank sharing, epochs, resume positions."""

import numpy as np

from benchmark.data.mixture import DomainReader, MixtureFeeder
from benchmark.strategies import DomainStats, get_strategy_class


def blocks(num_domains=3, rows=(5, 7, 11), width=4):
    # block content encodes (domain, row) so tests can see exactly what was served
    return [np.array([[d * 1000 + r] * width for r in range(rows[d])]) for d in range(num_domains)]


def feeder(method="uniform", world_size=1, rank=0, seed=0, **kwargs):
    data = blocks()
    strategy = get_strategy_class(method)(["a", "b", "c"], [len(b) for b in data], seed=seed, **kwargs)
    return MixtureFeeder(data, strategy, batch_size=4, grad_accum=2, seed=seed, world_size=world_size, rank=rank)


def test_reader_epochs_are_reshuffled_permutations():
    reader = DomainReader(np.arange(5)[:, None], seed=1, domain_index=0)
    first, second = reader.reserve(5), reader.reserve(5)
    assert sorted(first) == sorted(second) == list(range(5))
    assert list(first) != list(second)                 # a new, reshuffled epoch
    assert reader.epochs == 2.0


def test_served_rows_come_from_planned_domains_and_are_deterministic():
    a, b = feeder(seed=5), feeder(seed=5)
    for _ in range(6):
        x, y = a.next_microbatch(), b.next_microbatch()
        assert np.array_equal(x["input_ids"], y["input_ids"])
        assert np.array_equal(x["input_ids"][:, 0].numpy() // 1000, x["domain"].numpy())


def test_plan_is_read_live_after_each_update():
    f = feeder(method="odm", form="code", warmup_steps=0)
    f.next_microbatch(), f.next_microbatch()            # step 1 served: plan drawn once
    assert f.step == 2
    stats = DomainStats.zeros(3)
    stats.microbatch_loss_sum[:] = [0.0, 0.0, 5.0]
    stats.microbatches[:] = [0, 0, 1]
    stats.sequences[:] = [0, 0, 4]
    f.update_strategy(1, stats, None)
    f.next_microbatch()                                 # step 2 is planned now, with the new rewards
    assert f.strategy.history[-1].step == 2
    assert f.strategy.history[-1].rewards[2] > 0


def test_ranks_share_the_global_plan_without_serving_a_sample_twice():
    single = feeder(world_size=1)
    ranks = [feeder(world_size=2, rank=r) for r in range(2)]
    for f in ranks:
        f.grad_accum = 1                                # 2 ranks × 1 micro-batch = 2 rows per step
    seen_single, seen_ranks = [], []
    for _ in range(4):                                  # two global steps of 2 micro-batches
        seen_single.append(single.next_microbatch()["input_ids"][:, 0].tolist())
    for _ in range(2):
        for f in ranks:
            seen_ranks.append(f.next_microbatch()["input_ids"][:, 0].tolist())
    assert seen_single == seen_ranks                    # same global batch, strided over ranks
    assert [r.position for r in ranks[0].readers] == [r.position for r in ranks[1].readers]


def test_state_dict_resumes_the_exact_stream():
    a = feeder(method="temperature", temperature=2.0, seed=2)
    for _ in range(4):
        a.next_microbatch()
    b = feeder(method="temperature", temperature=2.0, seed=2)   # a fresh process, same config
    b.load_state_dict(a.state_dict())
    for _ in range(6):
        assert np.array_equal(a.next_microbatch()["input_ids"], b.next_microbatch()["input_ids"])
