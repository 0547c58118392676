# Copyright (c) ltplug contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample


def _sample(label, logits):
    ds = DataSample().set_gt_label(label)
    ds.set_field(torch.tensor(logits, dtype=torch.float32), 'expert_logits')
    return ds


def test_per_expert_best_and_ensemble():
    # 2 experts, 3 classes, 4 samples
    samples = [
        _sample(0, [[5., 0., 0.], [0., 1., 0.]]),  # e0 right, e1 wrong, ens 0
        _sample(1, [[0., 2., 0.], [0., 3., 0.]]),  # both right
        _sample(2, [[1., 0., 0.], [0., 0., 4.]]),  # e1 right, ens 2
        _sample(2, [[0., 1., 0.], [0., 0., 0.5]]),  # e0 wrong, e1 right,
        # ensemble mean [0, .5, .25] -> 1, wrong
    ]
    evaluator = Evaluator(METRICS.build(dict(type='ExpertAccuracy')))
    evaluator.process([s for s in samples])
    res = evaluator.evaluate(4)
    assert res['expert/top1_e0'] == pytest.approx(50.)
    assert res['expert/top1_e1'] == pytest.approx(75.)
    assert res['expert/best_single_top1'] == pytest.approx(75.)
    assert res['expert/best_single_idx'] == 1
    assert res['expert/ensemble_top1'] == pytest.approx(75.)


def test_needs_expert_logits():
    metric = METRICS.build(dict(type='ExpertAccuracy'))
    with pytest.raises(KeyError, match='expert_logits'):
        metric.process({}, [DataSample().set_gt_label(0).to_dict()])


@pytest.mark.parametrize('layout', ['model_slices', 'separate'])
def test_random_logits_match_plain_computation(layout):
    """Random logits of 3 experts in uneven batches: every value equals a
    per-sample computation by plain loops (numpy argmax, float64 mean)."""
    num_experts, num_classes, n = 3, 40, 150
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(n, num_experts, num_classes, generator=gen)
    labels = torch.randint(0, num_classes, (n, ), generator=gen)
    # the right class gets a bonus from some experts now and then
    logits[torch.arange(n), :, labels] += 2 * torch.rand(
        n, num_experts, generator=gen)
    metric = METRICS.build(dict(type='ExpertAccuracy'))
    start = 0
    for size in (50, 64, 36):
        block = logits[start:start + size]
        rows = list(block) if layout == 'model_slices' else [
            r.clone() for r in block
        ]
        metric.process(None, [
            dict(gt_label=labels[i:i + 1], expert_logits=r)
            for i, r in zip(range(start, start + size), rows)
        ])
        start += size
    res = metric.evaluate(n)
    z, y = logits.numpy(), labels.numpy()
    per_expert = [
        100.0 * sum(int(np.argmax(z[i, e])) == y[i] for i in range(n)) / n
        for e in range(num_experts)
    ]
    ensemble = 100.0 * sum(
        int(np.argmax(z[i].astype(np.float64).mean(axis=0))) == y[i]
        for i in range(n)) / n
    for e, acc in enumerate(per_expert):
        assert res[f'expert/top1_e{e}'] == pytest.approx(acc, rel=1e-12)
    best = int(np.argmax(per_expert))
    assert res['expert/best_single_idx'] == best
    assert res['expert/best_single_top1'] == pytest.approx(per_expert[best])
    assert res['expert/ensemble_top1'] == pytest.approx(ensemble, rel=1e-12)
    assert len(set(per_expert + [ensemble])) > 1  # not all the same


def test_bad_logits_shape():
    metric = METRICS.build(dict(type='ExpertAccuracy'))
    with pytest.raises(ValueError, match=r'\(E, C\).*\(5,\)'):
        metric.process(None, [
            dict(gt_label=torch.tensor([0]), expert_logits=torch.zeros(5))
        ])
    with pytest.raises(ValueError, match='one shape'):
        metric.process(None, [
            dict(gt_label=0, expert_logits=torch.zeros(2, 5)),
            dict(gt_label=1, expert_logits=torch.zeros(3, 5)),
        ])


@pytest.mark.parametrize('meta,name', [
    (dict(classes=('a', 'b', 'c')), 'classes'),
    (dict(class_counts=[9, 4, 1]), 'class_counts'),
])
def test_logits_for_another_number_of_classes_refused(meta, name):
    metric = METRICS.build(dict(type='ExpertAccuracy'))
    metric.dataset_meta = meta
    with pytest.raises(ValueError, match=(
            r"each expert gives 5 logits \(expert_logits\), but the dataset "
            rf"has 3 classes \(metainfo\['{name}'\]\)")):
        metric.process(None, [
            dict(gt_label=torch.tensor([0]), expert_logits=torch.zeros(2, 5))
        ])
    # the right width passes
    metric.process(None, [
        dict(gt_label=torch.tensor([0]), expert_logits=torch.zeros(2, 3))
    ])
    assert len(metric.results) == 1
