# Copyright (c) ltplug contributors. All rights reserved.
"""TimmPosterize keeps int(level / 10 * 4) bits, as timm's RandAugment."""
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmpretrain.registry import TRANSFORMS

import ltplug  # noqa: F401

IMG = np.full((4, 4, 3), 255, np.uint8)


def setup_module():
    init_default_scope('mmpretrain')


def kept(op: dict) -> int:
    """Bits kept, read from 255 after posterizing."""
    out = TRANSFORMS.build(op)(dict(img=IMG.copy()))['img']
    value = int(out[0, 0, 0])
    return bin(value).count('1')


@pytest.mark.parametrize('level,timm_bits', [(10, 4), (9.5, 3), (9, 3),
                                             (7.4, 2), (0, 0)])
def test_floor_as_timm(level, timm_bits):
    op = dict(type='TimmPosterize', magnitude_range=(0, 4),
              magnitude_level=level, prob=1.)
    assert kept(op) == int(level / 10 * 4) == timm_bits
    # MMPretrain's Posterize rounds up: 4 bits for any level in (7.5, 10]
    mmpre = dict(op, type='Posterize')
    if level not in (10, 0):
        assert kept(mmpre) == timm_bits + 1
    assert kept(dict(op, rounding='ceil')) == kept(mmpre)


def test_randaugment_level_distribution():
    """rand-m10-mstd0.5: level N(10, 0.5) clipped to [0, 10]; timm keeps 4
    bits only when the level was clipped to 10 (about half the draws)."""
    np.random.seed(0)
    op = TRANSFORMS.build(
        dict(type='TimmPosterize', magnitude_range=(0, 4),
             magnitude_level=10, magnitude_std=0.5, prob=1.))
    bits = [bin(int(op(dict(img=IMG.copy()))['img'][0, 0, 0])).count('1')
            for _ in range(2000)]
    frac4 = np.mean(np.array(bits) == 4)
    assert 0.45 < frac4 < 0.55 and set(bits) <= {2, 3, 4}


def test_bad_rounding_is_quoted():
    with pytest.raises(ValueError, match="'round'"):
        TRANSFORMS.build(dict(type='TimmPosterize', bits=4, rounding='round'))
