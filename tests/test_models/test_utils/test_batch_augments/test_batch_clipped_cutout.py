# Copyright (c) ltplug contributors. All rights reserved.
from unittest import mock

import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS

from tests.support.batch_augment_cases import per_sample, to_nhwc


def test_equals_clipped_cutout_at_given_centres(images, batch):
    op = MODELS.build(dict(type='BatchClippedCutout', length=16))
    torch.manual_seed(0)
    params = op.sample_params(batch)
    out = to_nhwc(op(batch.clone(), params))
    for i, img in enumerate(images):
        draws = iter([int(params['cy'][i, 0]), int(params['cx'][i, 0])])
        with mock.patch('numpy.random.randint',
                        lambda *a, **k: next(draws)):
            ref = per_sample(dict(type='ClippedCutout', length=16), img)
        np.testing.assert_array_equal(out[i], ref)


def _expected_area(length: int = 16, size: int = 32) -> float:
    half = length // 2
    sides = [min(c + half, size) - max(c - half, 0) for c in range(size)]
    return float(np.mean(sides)**2)  # centre rows / cols independent


def test_hole_area_distribution_matches_the_per_sample_op():
    n = 4000
    op = MODELS.build(dict(type='BatchClippedCutout', length=16))
    torch.manual_seed(1)
    holes = op(torch.ones(n, 1, 32, 32)) == 0
    areas = holes.flatten(1).sum(1).double().numpy()
    np.random.seed(1)
    ones = np.ones((32, 32, 1), np.uint8)
    ref = np.array([(per_sample(dict(type='ClippedCutout', length=16),
                                ones) == 0).sum() for _ in range(n)])
    expected = _expected_area()
    for a in (areas, ref):
        assert a.min() >= 64 and a.max() == 256  # corners .. whole holes
        assert abs(a.mean() - expected) < 5 * a.std() / np.sqrt(n)
    # the same area histogram (coarse bins)
    bins = [0, 100, 150, 200, 255, 257]
    assert np.abs(np.histogram(areas, bins)[0] -
                  np.histogram(ref, bins)[0]).max() < 0.06 * n


def test_prob_and_per_sample_centres(batch):
    op = MODELS.build(dict(type='BatchClippedCutout', length=8, prob=0.5,
                           n_holes=2))
    torch.manual_seed(2)
    params = op.sample_params(batch)
    out = op(batch.clone() + 1, params)  # no pixel is 0 before
    cut = (out == 0).flatten(1).any(1)
    assert torch.equal(cut, params['apply'])
    assert len(set(params['cy'][:, 0].tolist())) > 10


@pytest.mark.parametrize('kwargs,match', [(dict(length=0), '0'),
                                          (dict(n_holes=-2), '-2'),
                                          (dict(prob=2.), '2.0')])
def test_bad_arguments_quote_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='BatchClippedCutout', **kwargs))
