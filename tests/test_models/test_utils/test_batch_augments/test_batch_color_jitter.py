# Copyright (c) ltplug contributors. All rights reserved.
import itertools

import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS
from scipy import stats

from tests.support.batch_augment_cases import (in_bgr, per_sample_jitter,
                                               to_nhwc, within_binomial)

JITTER = dict(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)


def _op(**kwargs):
    return MODELS.build(dict(type='BatchColorJitter', **{**JITTER,
                                                         **kwargs}))


@pytest.mark.parametrize('hue', [0., 0.1])
def test_equals_pillow_color_jitter_for_given_draws(images, batch, hue):
    op = _op(hue=hue)
    torch.manual_seed(0)
    params = op.sample_params(batch)
    out = to_nhwc(op(batch.clone(), params))
    ref_cfg = in_bgr(dict(type='ColorJitter', **dict(JITTER, hue=hue)))
    for i, img in enumerate(images):
        np.testing.assert_array_equal(
            out[i], per_sample_jitter(ref_cfg, img, params, i, bool(hue)))


def test_factor_order_and_apply_distributions():
    n = 24000
    torch.manual_seed(1)
    p = _op(prob=0.8).sample_params(torch.empty(n, 3, 1, 1))
    assert within_binomial(int(p['apply'].sum()), n, 0.8)
    for i in range(3):
        f = p['factor'][:, i].numpy()
        assert f.min() >= 0.6 and f.max() <= 1.4
        assert stats.kstest(f, stats.uniform(0.6, 0.8).cdf).pvalue > 1e-4
    shifts = p['factor'][:, 3].long()
    assert set(shifts.tolist()) <= set(range(0, 26)) | set(range(231, 256))
    perms = {q: i for i, q in enumerate(itertools.permutations(range(4)))}
    idx = [perms[tuple(r)] for r in p['order'].tolist()]
    assert stats.chisquare(np.bincount(idx, minlength=24)).pvalue > 1e-4


def test_prob_zero_is_identity_and_seed_repeats(batch):
    assert torch.equal(_op(prob=0.)(batch.clone()), batch)
    op = _op()
    torch.manual_seed(3)
    a = op(batch.clone())
    torch.manual_seed(3)
    assert torch.equal(a, op(batch.clone()))
    torch.manual_seed(3)
    assert len(set(op.sample_params(batch)['factor'][:, 0].tolist())) == \
        len(batch)


@pytest.mark.parametrize('kwargs,match', [(dict(hue=0.7), '0.7'),
                                          (dict(brightness=-1), '-1'),
                                          (dict(prob=3), '3')])
def test_bad_arguments_quote_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _op(**kwargs)
