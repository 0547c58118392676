# Copyright (c) ltplug contributors. All rights reserved.
from unittest import mock

import numpy as np
import pytest
import torch
from mmpretrain.datasets.transforms import RandomCrop
from mmpretrain.registry import MODELS
from scipy import stats

from tests.support.batch_augment_cases import per_sample, to_nhwc


def _op(**kwargs):
    return MODELS.build(dict(type='BatchRandomCrop', crop_size=32, padding=4,
                             **kwargs))


def test_equals_mmpretrain_random_crop_at_given_offsets(images, batch):
    op = _op()
    torch.manual_seed(0)
    params = op.sample_params(batch)
    out = to_nhwc(op(batch.clone(), params))
    for i, img in enumerate(images):
        box = (int(params['top'][i]), int(params['left'][i]), 32, 32)
        with mock.patch.object(RandomCrop, 'rand_crop_params',
                               lambda self, im, box=box: box):
            ref = per_sample(dict(type='RandomCrop', crop_size=32,
                                  padding=4), img)
        np.testing.assert_array_equal(out[i], ref)


def test_offsets_uniform_over_the_per_sample_range():
    op = _op()
    n = 36000
    torch.manual_seed(1)
    params = op.sample_params(torch.empty(1, 3, 32, 32).expand(n, 3, 32, 32))
    np.random.seed(1)
    ref = RandomCrop(crop_size=32, padding=4)
    padded = np.zeros((40, 40, 3), np.uint8)
    ref_tops = [ref.rand_crop_params.__wrapped__(ref, padded)[0]
                for _ in range(4000)]
    for key in ('top', 'left'):
        counts = np.bincount(params[key].numpy(), minlength=9)
        assert len(counts) == 9  # 0 .. 8, both ends reached
        assert stats.chisquare(counts).pvalue > 1e-4
    assert set(ref_tops) == set(range(9))
    table = [np.bincount(params['top'].numpy(), minlength=9),
             np.bincount(ref_tops, minlength=9)]
    assert stats.chi2_contingency(table).pvalue > 1e-4


def test_each_sample_draws_its_own_offset_and_seed_repeats(batch):
    op = _op()
    torch.manual_seed(3)
    a = op(batch.clone())
    torch.manual_seed(3)
    b = op(batch.clone())
    assert torch.equal(a, b)
    params = op.sample_params(batch)
    pairs = set(zip(params['top'].tolist(), params['left'].tolist()))
    assert len(pairs) > len(batch) // 2


def test_without_padding_is_a_crop():
    op = MODELS.build(dict(type='BatchRandomCrop', crop_size=(8, 16)))
    x = torch.arange(2 * 3 * 10 * 20.).view(2, 3, 10, 20)
    params = dict(top=torch.tensor([0, 2]), left=torch.tensor([4, 0]))
    out = op(x, params)
    assert out.shape == (2, 3, 8, 16)
    assert torch.equal(out[0], x[0, :, 0:8, 4:20])
    assert torch.equal(out[1], x[1, :, 2:10, 0:16])


@pytest.mark.parametrize('kwargs,match', [
    (dict(crop_size=0), 'crop_size'),
    (dict(crop_size=32, padding=-1), '-1'),
])
def test_bad_arguments_quote_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='BatchRandomCrop', **kwargs))


def test_crop_larger_than_padded_image_is_an_error():
    op = MODELS.build(dict(type='BatchRandomCrop', crop_size=64, padding=4))
    with pytest.raises(ValueError, match='larger'):
        op(torch.zeros(1, 3, 32, 32))
