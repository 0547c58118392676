# Copyright (c) ltplug contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS

from tests.support.batch_augment_cases import (per_sample, to_nhwc,
                                               within_binomial)

WEIGHTS = (0.2989, 0.587, 0.114)


def test_equals_mmpretrain_random_grayscale(images, batch):
    op = MODELS.build(dict(type='BatchRandomGrayscale', prob=0.2,
                           channel_weights=WEIGHTS))
    gray = torch.arange(len(batch)) % 2 == 0
    out = to_nhwc(op(batch.clone(), dict(gray=gray)))
    ref_cfg = dict(type='RandomGrayscale', prob=1., keep_channels=True,
                   channel_weights=WEIGHTS)
    for i, img in enumerate(images):
        ref = per_sample(ref_cfg, img) if gray[i] else img
        np.testing.assert_array_equal(out[i], ref)


def test_rate_per_sample():
    op = MODELS.build(dict(type='BatchRandomGrayscale', prob=0.2))
    torch.manual_seed(0)
    n = 30000
    gray = op.sample_params(torch.empty(n, 3, 1, 1))['gray']
    assert within_binomial(int(gray.sum()), n, 0.2)


@pytest.mark.parametrize('kwargs,match', [(dict(prob=-0.1), '-0.1'),
                                          (dict(channel_weights=(1, 1)),
                                           r'\(1, 1\)')])
def test_bad_arguments_quote_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='BatchRandomGrayscale', **kwargs))
