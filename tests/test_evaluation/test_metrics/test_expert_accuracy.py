# Copyright (c) ltplug contributors. All rights reserved.
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
