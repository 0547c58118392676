# Copyright (c) ltplug contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmpretrain.datasets.transforms import GaussianBlur
from mmpretrain.registry import MODELS
from scipy import stats

from tests.support.batch_augment_cases import (per_sample, to_nhwc,
                                               within_binomial)


def _op(**kwargs):
    return MODELS.build(dict(type='BatchGaussianBlur',
                             magnitude_range=(0.1, 2.0), **kwargs))


def test_equals_mmpretrain_gaussian_blur_for_given_radii(images, batch):
    op = _op(prob=1.)
    torch.manual_seed(0)
    params = op.sample_params(batch)
    params['sigma'][:3] = torch.tensor([0.1, 1.0, 2.0], dtype=torch.float64)
    out = to_nhwc(op(batch.clone(), params))
    for i, img in enumerate(images):
        sigma = float(params['sigma'][i])
        ref = per_sample(dict(type='GaussianBlur', radius=sigma, prob=1.),
                         img)
        np.testing.assert_array_equal(out[i], ref, err_msg=str(sigma))


def test_radius_and_rate_distributions():
    n = 30000
    torch.manual_seed(1)
    p = _op(prob=0.5).sample_params(torch.empty(n, 3, 1, 1))
    assert within_binomial(int(p['apply'].sum()), n, 0.5)
    sigma = p['sigma'].numpy()
    assert stats.kstest(sigma, stats.uniform(0.1, 1.9).cdf).pvalue > 1e-4
    # the per-sample op's radius: magnitude_std='inf' -> uniform too
    np.random.seed(1)
    ref = GaussianBlur(magnitude_range=(0.1, 2.0), magnitude_std='inf')
    ref_sigma = [ref.random_magnitude.__wrapped__(ref) for _ in range(4000)]
    assert stats.ks_2samp(sigma, ref_sigma).pvalue > 1e-4


def test_unblurred_samples_are_unchanged(batch):
    noise = batch[::4]  # the noise images: any blur changes them
    op = _op(prob=0.5)
    torch.manual_seed(2)
    params = op.sample_params(noise)
    params['sigma'] = params['sigma'].clamp(min=0.5)
    out = op(noise.clone(), params)
    changed = (out != noise).flatten(1).any(1)
    assert torch.equal(changed, params['apply'])


@pytest.mark.parametrize('kwargs,match', [
    (dict(magnitude_range=(0., 1.)), r'\(0.0, 1.0\)'),
    (dict(prob=1.2), '1.2'),
])
def test_bad_arguments_quote_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='BatchGaussianBlur', **kwargs))
