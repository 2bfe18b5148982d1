"""The embedded FLAD generator's ground truth: helpful auxiliaries share the target's rule (on the
covered entities only, with `helpful_coverage` < 1), harmful ones conflict everywhere, transient
ones agree on the covered entities and conflict on the rest; the defaults draw nothing extra."""

import numpy as np
import pyarrow.parquet as pq

from benchmark.flad.synthetic import DEFAULTS, arm_roles, build_tasks, write_embedded


def _spec(**kw):
    return {**DEFAULTS, **kw}


def test_defaults_have_full_coverage_and_no_transient_arms():
    targets, arms = build_tasks(_spec())
    assert {a.role for a in arms} == {"helpful", "harmful", "neutral"}
    assert all(a.entities is None for a in arms)
    # the knobs at their defaults consume no random numbers: the same datasets as before they existed
    again_targets, again_arms = build_tasks(_spec(helpful_coverage=1.0, transient_per_target=0))
    assert [a.rule.tolist() if a.rule is not None else None for a in arms] == \
        [a.rule.tolist() if a.rule is not None else None for a in again_arms]


def test_coverage_and_transient_arms_follow_the_target_rule_where_they_should():
    spec = _spec(helpful_coverage=0.5, transient_per_target=1)
    targets, arms = build_tasks(spec)
    n = spec["num_entities"]
    for target in targets:
        related = [a for a in arms if a.related_target == target.name]
        helpful = [a for a in related if a.role == "helpful"]
        (transient,) = [a for a in related if a.role == "transient"]
        covered = helpful[0].entities
        assert len(covered) == n // 2 and all(np.array_equal(a.entities, covered) for a in helpful)
        uncovered = np.setdiff1d(np.arange(n), covered)
        classes = len(target.verbalizers)
        assert np.array_equal(transient.rule[covered], target.rule[covered])
        assert np.array_equal(transient.rule[uncovered], (target.rule[uncovered] + 1) % classes)
        assert transient.entities is None                        # it shows the conflict on every entity


def test_helpful_rows_only_use_covered_entities_and_roles_are_recorded(tmp_path):
    spec = _spec(helpful_coverage=0.5, transient_per_target=1, arm_size=[50, 60], target_pool=40, test_size=20,
                 pretrain_sequences=10)
    directory = write_embedded(spec, tmp_path)
    from benchmark.flad.synthetic import load_ground_truth
    truth = load_ground_truth(directory)
    roles = arm_roles(truth, "tgt_a")
    assert sorted(roles.values()).count("transient") == 1 and sorted(roles.values()).count("helpful") == 3
    name = next(a for a, r in roles.items() if r == "helpful")
    covered = {f"e{e:02d}" for e in truth["arms"][name]["entities"]}
    rows = pq.read_table(directory / "p3" / f"{name}_t0" / "train.parquet").to_pylist()
    assert rows and all(set(w for w in r["inputs_pretokenized"].split() if w.startswith("e")) <= covered for r in rows)
