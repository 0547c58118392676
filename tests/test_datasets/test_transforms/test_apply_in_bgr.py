# Copyright (c) ltplug contributors. All rights reserved.
"""ApplyInBGR: MMCV's colour ops weigh an RGB array's channels correctly."""
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmpretrain.registry import TRANSFORMS

import ltplug  # noqa: F401

RED_RGB = np.zeros((4, 4, 3), np.uint8)
RED_RGB[..., 0] = 255

# full desaturation: every op blends with the grey image only
GREY_OPS = [
    dict(type='ColorJitter', saturation=(0., 0.)),  # pillow backend
    dict(type='ColorJitter', saturation=(0., 0.), backend='cv2'),
    dict(type='ColorTransform', magnitude=-1., prob=1.,
         random_negative_prob=0.),  # AutoAugment's Color
]


def setup_module():
    init_default_scope('mmpretrain')


@pytest.mark.parametrize('op', GREY_OPS)
def test_grey_of_rgb_red_uses_red_weight(op):
    wrapped = TRANSFORMS.build(
        dict(type='ApplyInBGR', channel_order='rgb', transforms=[op]))
    out = wrapped(dict(img=RED_RGB.copy()))['img']
    # luma of pure red: 0.299 x 255 = 76
    assert np.all(np.abs(out.astype(int) - 76) <= 1), out[0, 0]
    # the bare op reads the RGB array as BGR: the blue weight, 0.114 x 255
    bare = TRANSFORMS.build(op)(dict(img=RED_RGB.copy()))['img']
    assert np.all(np.abs(bare.astype(int) - 29) <= 1), bare[0, 0]


def test_contrast_mean_uses_rgb_weights():
    """Contrast 0 gives the grey mean: of a half red / half blue image it
    is (0.299 + 0.114) / 2 x 255 = 53 in RGB, not the same read as BGR."""
    img = np.zeros((4, 4, 3), np.uint8)
    img[:2, :, 0] = 255
    img[2:, :, 2] = 255
    img[0, 0] = (255, 0, 0)
    op = dict(type='ColorJitter', contrast=(0., 0.), backend='cv2')
    t = TRANSFORMS.build(dict(type='ApplyInBGR', transforms=[op]))
    out = t(dict(img=img.copy()))['img']
    assert np.all(out == out[0, 0])
    assert abs(int(out[0, 0, 0]) - 53) <= 1


def test_bgr_is_unchanged_and_order_restored():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (8, 8, 3), np.uint8)
    flip = dict(type='RandomFlip', prob=1., direction='horizontal')
    for order in ('rgb', 'bgr'):
        t = TRANSFORMS.build(
            dict(type='ApplyInBGR', channel_order=order, transforms=[flip]))
        out = t(dict(img=img.copy()))['img']
        # a channel-independent op: same result, channels in input order
        np.testing.assert_array_equal(out, img[:, ::-1])
    grey = np.full((8, 8), 7, np.uint8)  # not 3-channel: untouched
    t = TRANSFORMS.build(dict(type='ApplyInBGR', transforms=[flip]))
    np.testing.assert_array_equal(t(dict(img=grey))['img'], grey)


def test_bad_channel_order_is_quoted():
    with pytest.raises(ValueError, match="'rbg'"):
        TRANSFORMS.build(
            dict(type='ApplyInBGR', channel_order='rbg', transforms=[]))
