# Copyright (c) ltplug contributors. All rights reserved.
"""BatchAutoAugment against MMPretrain's AutoAugment with the CIFAR-10
policy of the shipped NCL configs (run in ApplyInBGR, as they do)."""
import os.path as osp
import numpy as np
import pytest
import torch
from mmcv.transforms import RandomChoice
from mmengine.config import Config
from mmpretrain.registry import MODELS
from scipy import stats

from tests.helpers import ROOT
from tests.support.batch_augment_cases import (in_bgr, per_sample, to_nhwc,
                                               within_binomial)

POLICY = Config.fromfile(
    osp.join(ROOT, 'configs', 'ncl', '_base_',
             'cifar10_autoaugment_policy.py')).cifar10_policy
VALUE_KEYS = ('magnitude', 'angle', 'bits', 'thr')
#: op types whose batched arithmetic is not bit-exact (max |diff| 1, on
#: this share of the pixels at most)
INEXACT = {'Shear': 0.005}
SIGNED = ('Contrast', 'ColorTransform', 'Brightness', 'Sharpness', 'Shear',
          'Translate', 'Rotate')


def _op():
    return MODELS.build(dict(type='BatchAutoAugment', policies=POLICY))


def _reference_op(cfg: dict, negative: bool) -> dict:
    """The per-sample op of policy entry ``cfg``, always firing, with the
    sign fixed."""
    cfg = dict(cfg, prob=1.)
    if cfg['type'] in SIGNED:
        cfg['random_negative_prob'] = 1. if negative else 0.
    return cfg


def _assert_close(out, ref, kind):
    diff = np.abs(out - ref)
    if kind in INEXACT:
        assert diff.max() <= 1, kind
        assert (diff > 0).mean() <= INEXACT[kind], kind
    else:
        np.testing.assert_array_equal(out, ref, err_msg=kind)


def test_policy_table_is_the_configs_cifar10_policy():
    op = _op()
    assert len(op.policies) == 25 and op.num_slots == 2
    for p, sub in enumerate(POLICY):
        for s, cfg in enumerate(sub):
            assert float(op._prob[p, s]) == cfg['prob']
            key = next((k for k in VALUE_KEYS if k in cfg), None)
            assert float(op._value[p, s]) == (float(cfg[key]) if key else 0.)
            assert op.ops[int(op._op_id[p, s])]['type'] == cfg['type']
    # the port's rotate has no random sign; shear / translate / enhance do
    rot = [(p, s) for p, sub in enumerate(POLICY) for s, c in enumerate(sub)
           if c['type'] == 'Rotate']
    assert rot and all(float(op._neg[p, s]) == 0. for p, s in rot)
    assert float(op._neg[0, 1]) == 0.5  # Contrast


KINDS = sorted({(c['type'], c.get('direction'))
                for sub in POLICY for c in sub}, key=str)
CASES = [(kind, neg) for kind in KINDS
         for neg in ((False, True) if kind[0] in SIGNED else (False, ))]


@pytest.mark.parametrize('kind,negative', CASES, ids=str)
def test_each_op_equals_the_per_sample_op(images, batch, kind, negative):
    p, s = next((p, s) for p, sub in enumerate(POLICY)
                for s, c in enumerate(sub)
                if (c['type'], c.get('direction')) == kind)
    cfg = POLICY[p][s]
    op = _op()
    n = len(batch)
    value = op._value[p, s].repeat(n)
    params = dict(
        op=torch.stack([op._op_id[p, s].repeat(n),
                        torch.full((n, ), -1)], 1),
        value=torch.stack([-value if negative else value,
                           torch.zeros(n, dtype=torch.float64)], 1))
    out = to_nhwc(op(batch.clone(), params))
    ref_cfg = in_bgr(_reference_op(cfg, negative))
    ref = np.stack([per_sample(ref_cfg, img) for img in images])
    _assert_close(out, ref, kind[0])


def test_drawn_batch_equals_the_per_sample_ops_of_its_draws(images, batch):
    op = _op()
    torch.manual_seed(0)
    params = op.sample_params(batch)
    out = to_nhwc(op(batch.clone(), params))
    for i, img in enumerate(images):
        ref = img
        policy = int(params['policy'][i])
        for s, cfg in enumerate(POLICY[policy]):
            if int(params['op'][i, s]) < 0:
                continue
            key = next((k for k in VALUE_KEYS if k in cfg), None)
            negative = key is not None and (float(params['value'][i, s]) <
                                            0) != (cfg[key] < 0)
            ref = per_sample(in_bgr(_reference_op(cfg, negative)), ref)
        kinds = {c['type'] for c in POLICY[policy]}
        diff = np.abs(out[i] - ref)
        assert diff.max() <= (1 if kinds & set(INEXACT) else 0), (i, kinds)


def test_sub_policy_frequencies_probabilities_and_signs():
    op = _op()
    n = 50000
    torch.manual_seed(1)
    params = op.sample_params(torch.empty(n, 3, 32, 32))
    counts = np.bincount(params['policy'].numpy(), minlength=25)
    assert stats.chisquare(counts).pvalue > 1e-4
    # the per-sample AutoAugment picks its sub-policy uniformly too
    np.random.seed(1)
    chooser = RandomChoice([[dict(type='mmpretrain.Invert')]] * 25)
    ref_idx = [chooser.random_pipeline_index.__wrapped__(chooser)
               for _ in range(5000)]
    table = [counts, np.bincount(ref_idx, minlength=25)]
    assert stats.chi2_contingency(table).pvalue > 1e-4
    for p, sub in enumerate(POLICY):
        rows = params['policy'] == p
        m = int(rows.sum())
        for s, cfg in enumerate(sub):
            fired = params['op'][rows, s] >= 0
            assert within_binomial(int(fired.sum()), m, cfg['prob']), (p, s)
            key = next((k for k in VALUE_KEYS if k in cfg), None)
            if key is None:
                continue
            vals = params['value'][rows, s]
            assert torch.all(vals.abs() == abs(float(cfg[key]))), (p, s)
            neg = float(op._neg[p, s])
            if neg and cfg[key]:
                assert within_binomial(int((vals < 0).sum()), m, neg)
            else:
                assert torch.all(vals >= 0) or cfg[key] < 0


def test_seed_repeats_and_samples_draw_their_own_sub_policy(batch):
    op = _op()
    torch.manual_seed(4)
    a = op(batch.clone())
    torch.manual_seed(4)
    assert torch.equal(a, op(batch.clone()))
    torch.manual_seed(4)
    params = op.sample_params(batch)
    assert len(set(params['policy'].tolist())) > 10


@pytest.mark.parametrize('policies,match', [
    ([], 'non-empty'),
    ([[dict(type='Cutout', shape=4)]], 'Cutout'),
    ([[dict(type='Rotate', magnitude_range=(0, 30))]], 'magnitude_range'),
])
def test_bad_policies_quote_the_value(policies, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='BatchAutoAugment', policies=policies))
