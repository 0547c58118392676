# Copyright (c) ltplug contributors. All rights reserved.
from unittest import mock

import numpy as np
import pytest
import torch
from mmpretrain.datasets.transforms import RandomResizedCrop
from mmpretrain.registry import MODELS
from scipy import stats

from tests.support.batch_augment_cases import per_sample, to_nhwc

REF = dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.2, 1.),
           backend='pillow')


def _op():
    return MODELS.build(dict(type='BatchRandomResizedCrop', scale=32,
                             crop_ratio_range=(0.2, 1.)))


def test_equals_pillow_random_resized_crop_for_given_boxes(images, batch):
    op = _op()
    torch.manual_seed(0)
    params = op.sample_params(batch)
    params['height'][:4] = 32  # whole-size and one-pixel-wide boxes too
    params['top'][:4] = 0
    params['width'][4:6] = 1
    out = to_nhwc(op(batch.clone(), params))
    for i, img in enumerate(images):
        box = tuple(int(params[k][i])
                    for k in ('top', 'left', 'height', 'width'))
        with mock.patch.object(RandomResizedCrop, 'rand_crop_params',
                               lambda self, im, box=box: box):
            ref = per_sample(REF, img)
        np.testing.assert_array_equal(out[i], ref, err_msg=str(box))


def test_box_distribution_matches_the_per_sample_op():
    n = 20000
    torch.manual_seed(1)
    p = _op().sample_params(torch.empty(1, 3, 32, 32).expand(n, 3, 32, 32))
    np.random.seed(1)
    ref_op = RandomResizedCrop(**{k: v for k, v in REF.items()
                                  if k != 'type'})
    img = np.zeros((32, 32, 3), np.uint8)
    ref = np.array([ref_op.rand_crop_params.__wrapped__(ref_op, img)
                    for _ in range(5000)])  # top, left, h, w
    ours = np.stack([p[k].numpy() for k in ('top', 'left', 'height',
                                            'width')], 1)
    assert ours[:, 2:].min() >= 1 and ours[:, 2:].max() <= 32
    assert np.all(ours[:, 0] + ours[:, 2] <= 32)
    assert np.all(ours[:, 1] + ours[:, 3] <= 32)
    features = [
        lambda b: b[:, 2] * b[:, 3],  # area
        lambda b: b[:, 3] / b[:, 2],  # aspect ratio
        lambda b: b[:, 0],  # top
        lambda b: b[:, 1] + b[:, 3] / 2,  # box centre x
    ]
    for f in features:
        assert stats.ks_2samp(f(ours), f(ref)).pvalue > 1e-4


def test_seed_repeats_and_boxes_differ(batch):
    op = _op()
    torch.manual_seed(2)
    a = op(batch.clone())
    torch.manual_seed(2)
    assert torch.equal(a, op(batch.clone()))
    torch.manual_seed(2)
    p = op.sample_params(batch)
    boxes = set(zip(*(p[k].tolist() for k in ('top', 'left', 'height'))))
    assert len(boxes) > len(batch) // 2


def test_fallback_is_the_centred_box():
    op = MODELS.build(dict(type='BatchRandomResizedCrop', scale=16,
                           crop_ratio_range=(5., 6.), max_attempts=3))
    p = op.sample_params(torch.zeros(4, 3, 16, 16))
    assert p['height'].tolist() == [16] * 4 and p['top'].tolist() == [0] * 4


@pytest.mark.parametrize('kwargs,match', [
    (dict(scale=0), 'scale'),
    (dict(scale=32, crop_ratio_range=(0.9, 0.1)), '0.9'),
    (dict(scale=32, max_attempts=0), 'max_attempts'),
])
def test_bad_arguments_quote_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='BatchRandomResizedCrop', **kwargs))


def test_downsampling_boxes_are_refused():
    op = MODELS.build(dict(type='BatchRandomResizedCrop', scale=8))
    with pytest.raises(ValueError, match='exceed'):
        op(torch.zeros(2, 3, 32, 32))
