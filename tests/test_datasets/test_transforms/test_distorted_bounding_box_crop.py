# Copyright (c) ltplug contributors. All rights reserved.
"""DistortedBoundingBoxCrop draws crops as TF's sample_distorted_bounding_box
(CBD's training crop): uniform aspect ratio, uniform integer height."""
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmpretrain.registry import TRANSFORMS

import ltplug  # noqa: F401


def setup_module():
    init_default_scope('mmpretrain')


def tf_mean_area(area=(0.05, 1.0), ratio=(0.75, 1.33)) -> float:
    """Mean crop area / image area of TF's sampler on a square image, in
    the continuous limit: r = w / h ~ U(ratio), h ~ U(sqrt(a0 / r),
    min(sqrt(a1 / r), 1 / r, 1)) (image side 1), area = r h^2."""
    r = np.linspace(*ratio, 100001)
    lo = np.sqrt(area[0] / r)
    hi = np.minimum(np.minimum(np.sqrt(area[1] / r), 1. / r), 1.)
    return float(np.mean(r * (lo * lo + lo * hi + hi * hi) / 3))


def test_mean_area_as_tensorflow():
    np.random.seed(0)
    t = TRANSFORMS.build(dict(type='DistortedBoundingBoxCrop'))
    boxes = [t.sample_box(400, 400) for _ in range(5000)]
    ours = np.mean([h * w for _, _, h, w in boxes]) / 400**2
    expected = tf_mean_area()  # 0.376
    assert ours == pytest.approx(expected, abs=0.015)
    # MMPretrain's RandomResizedCrop draws the area uniformly: larger crops
    np.random.seed(0)
    rrc = TRANSFORMS.build(
        dict(type='RandomResizedCrop', scale=224,
             crop_ratio_range=(0.05, 1.), aspect_ratio_range=(0.75, 1.33)))
    img = np.zeros((400, 400, 3), np.uint8)
    areas = [np.prod(rrc.rand_crop_params(img)[2:]) / 400**2
             for _ in range(5000)]
    assert np.mean(areas) > expected + 0.05


def test_boxes_inside_and_within_ranges():
    np.random.seed(1)
    t = TRANSFORMS.build(dict(type='DistortedBoundingBoxCrop'))
    for _ in range(2000):
        top, left, h, w = t.sample_box(375, 500)
        assert 0 <= top and top + h <= 375 and 0 <= left and left + w <= 500
        assert 0.05 * 375 * 500 <= h * w <= 375 * 500
        assert 0.75 - 0.01 <= w / h <= 1.33 + 0.01


def test_output_and_fallback():
    np.random.seed(0)
    t = TRANSFORMS.build(dict(type='DistortedBoundingBoxCrop', scale=224))
    img = np.random.default_rng(0).integers(0, 256, (375, 500, 3), np.uint8)
    out = t(dict(img=img))
    assert out['img'].shape == (224, 224, 3) and out['img_shape'] == (224,
                                                                      224)
    # no valid crop (a 1 x 100 strip cannot hold ratio 0.75..1.33 at 5% of
    # its area and more): the whole image, as TF
    assert t.sample_box(1, 100) == (0, 0, 1, 100)


def test_bad_arguments_are_quoted():
    with pytest.raises(ValueError, match='1.5'):
        TRANSFORMS.build(
            dict(type='DistortedBoundingBoxCrop', area_range=(0.05, 1.5)))
    with pytest.raises(ValueError, match="'tf'"):
        TRANSFORMS.build(dict(type='DistortedBoundingBoxCrop', backend='tf'))
