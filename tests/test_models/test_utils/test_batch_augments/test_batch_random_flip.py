# Copyright (c) ltplug contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS

from tests.support.batch_augment_cases import to_nhwc, within_binomial


@pytest.mark.parametrize('direction,axis', [('horizontal', 1),
                                            ('vertical', 0)])
def test_flipped_samples_equal_np_flip(images, batch, direction, axis):
    op = MODELS.build(dict(type='BatchRandomFlip', direction=direction))
    flip = torch.arange(len(batch)) % 3 == 0
    out = to_nhwc(op(batch.clone(), dict(flip=flip)))
    for i, img in enumerate(images):
        ref = np.flip(img, axis) if flip[i] else img
        np.testing.assert_array_equal(out[i], ref)


@pytest.mark.parametrize('prob', [0., 0.3, 0.5, 1.])
def test_flip_rate_per_sample(prob):
    op = MODELS.build(dict(type='BatchRandomFlip', prob=prob))
    n = 40000
    torch.manual_seed(0)
    flips = op.sample_params(torch.empty(n, 1, 1, 1))['flip']
    assert within_binomial(int(flips.sum()), n, prob)


def test_seed_repeats_and_samples_differ(batch):
    op = MODELS.build(dict(type='BatchRandomFlip'))
    torch.manual_seed(5)
    a = op(batch.clone())
    torch.manual_seed(5)
    assert torch.equal(a, op(batch.clone()))
    flipped = (a != batch).flatten(1).any(1)
    assert 0 < int(flipped.sum()) < len(batch)


@pytest.mark.parametrize('kwargs,match', [(dict(prob=1.5), '1.5'),
                                          (dict(direction='up'), 'up')])
def test_bad_arguments_quote_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='BatchRandomFlip', **kwargs))
