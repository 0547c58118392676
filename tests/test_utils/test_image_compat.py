# Copyright (c) ltplug contributors. All rights reserved.
"""Hue jitter works under numpy 2 (mmcv's ``adjust_hue`` overflows on a
negative factor) and shifts hue exactly as the numpy-1 cast did."""
import cv2
import mmcv
import numpy as np
import pytest
from mmpretrain.registry import TRANSFORMS

from ltplug.utils import image_compat
from ltplug.utils.image_compat import adjust_hue


def _image(seed=0):
    return np.random.default_rng(seed).integers(0, 256, (8, 8, 3),
                                                dtype=np.uint8)


def _reference(img, shift):
    """Hue channel (OpenCV's full-range HSV) shifted by ``shift`` mod 256,
    in integer arithmetic."""
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL).astype(np.int64)
    hsv[..., 0] = (hsv[..., 0] + shift) % 256
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR_FULL)


@pytest.mark.parametrize('factor,shift', [(-0.1, -25), (-0.5, -127),
                                          (0.2, 51), (0.0, 0)])
def test_cyclic_shift_matches_reference(factor, shift):
    img = _image()
    np.testing.assert_array_equal(adjust_hue(img, factor, backend='cv2'),
                                  _reference(img, shift))


def test_positive_factor_equals_mmcv_original():
    original = image_compat.original_adjust_hue
    if original is None:
        pytest.skip('numpy accepts the original cast here; nothing patched')
    img = _image(1)
    for backend in ('cv2', 'pillow'):
        np.testing.assert_array_equal(
            adjust_hue(img, 0.3, backend=backend),
            original(img, 0.3, backend=backend))


def test_mmcv_and_color_jitter_use_it():
    if image_compat.original_adjust_hue is None:
        pytest.skip('numpy accepts the original cast here; nothing patched')
    assert mmcv.adjust_hue is adjust_hue
    jitter = TRANSFORMS.build(dict(type='ColorJitter', hue=0.5))
    img = _image(2)
    for _ in range(20):  # about half the draws are negative
        out = jitter(dict(img=img.copy()))['img']
        assert out.shape == img.shape and out.dtype == np.uint8


@pytest.mark.parametrize('kwargs,match', [
    (dict(hue_factor=0.7), 'hue_factor must be in'),
    (dict(hue_factor=0.1, backend='magick'), "backend must be 'cv2'"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        adjust_hue(_image(), **kwargs)
