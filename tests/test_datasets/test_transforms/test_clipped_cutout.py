# Copyright (c) ltplug contributors. All rights reserved.
"""ClippedCutout: a hole centred on a uniform pixel, clipped at every
border (DeVries & Taylor's Cutout, used by NCL / PaCo)."""
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmpretrain.registry import TRANSFORMS

import ltplug  # noqa: F401


def setup_module():
    init_default_scope('mmpretrain')


def official_mean_area(size: int = 32, length: int = 16) -> float:
    """E[hole area] with the centre uniform over the pixels and the hole
    [c - length // 2, c + length // 2) clipped to the image."""
    half = length // 2
    lens = [min(c + half, size) - max(c - half, 0) for c in range(size)]
    return float(np.mean(lens))**2


def mean_cut_area(op: dict, n: int = 4000) -> float:
    t = TRANSFORMS.build(op)
    img = np.full((32, 32, 3), 255, np.uint8)
    return float(np.mean([(t(dict(img=img.copy()))['img'][..., 0] == 0).sum()
                          for _ in range(n)]))


def test_mean_area_as_reference():
    np.random.seed(0)
    expected = official_mean_area()  # 12.25 ** 2 = 150.06
    ours = mean_cut_area(dict(type='ClippedCutout', length=16, pad_val=0))
    assert ours == pytest.approx(expected, rel=0.03)
    # MMPretrain's Cutout shifts edge holes inside: larger holes on average
    np.random.seed(0)
    mmpre = mean_cut_area(dict(type='Cutout', shape=16, pad_val=0, prob=1.))
    assert mmpre > expected * 1.15


def test_corner_hole_is_clipped(monkeypatch):
    monkeypatch.setattr(np.random, 'randint', lambda n: 0)
    t = TRANSFORMS.build(dict(type='ClippedCutout', length=16, pad_val=3))
    out = t(dict(img=np.full((32, 32, 3), 255, np.uint8)))['img']
    assert (out == 3).all(axis=2).sum() == 8 * 8
    assert (out[:8, :8] == 3).all()


def test_prob_and_errors():
    t = TRANSFORMS.build(dict(type='ClippedCutout', prob=0.))
    img = np.full((32, 32, 3), 255, np.uint8)
    assert (t(dict(img=img.copy()))['img'] == 255).all()
    with pytest.raises(ValueError, match='-1'):
        TRANSFORMS.build(dict(type='ClippedCutout', length=-1))
    with pytest.raises(ValueError, match='1.5'):
        TRANSFORMS.build(dict(type='ClippedCutout', prob=1.5))
