# Copyright (c) ltplug contributors. All rights reserved.
"""CIFAR100LT on a synthetic ``cifar-100-python`` folder (no real CIFAR-100
here; image ``i`` stores ``i`` in its first two bytes, see conftest)."""
import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from ltplug.datasets import get_class_counts
from ltplug.evaluation.functional import shot_groups


def profile(n_max, num_classes, ratio):
    return [
        int(n_max * (1.0 / ratio)**(c / (num_classes - 1.0)))
        for c in range(num_classes)
    ]


def source_index(ds, i):
    img = ds.get_data_info(i)['img']  # HWC; byte 0 / 1 = R of pixels 0, 1
    return int(img[0, 0, 0]) * 256 + int(img[0, 1, 0])


def build(root, **kwargs):
    kwargs.setdefault('check_md5', False)
    return DATASETS.build(dict(type='CIFAR100LT', data_root=root, **kwargs))


@pytest.mark.parametrize('ratio,size,groups', [(100, 10847, [35, 35, 30]),
                                               (50, 12608, [41, 41, 18])])
def test_train_split(cifar100_fake_root, ratio, size, groups):
    ds = build(cifar100_fake_root, split='train', imbalance_ratio=ratio)
    expected = profile(500, 100, ratio)
    assert len(ds) == size == sum(expected)
    assert get_class_counts(ds).tolist() == expected
    assert np.bincount(ds.get_gt_labels(), minlength=100).tolist() == \
        expected
    g = shot_groups(get_class_counts(ds))
    assert [int(g[k].sum()) for k in ('many', 'medium', 'few')] == groups
    # LDAM-DRW selection (np.random.seed(0), per-class shuffle), by hand;
    # the synthetic image i has label i % 100
    labels = np.arange(50000) % 100
    np.random.seed(0)
    kept = []
    for c, n_c in enumerate(expected):
        idx = np.where(labels == c)[0]
        np.random.shuffle(idx)
        kept.extend(idx[:n_c].tolist())
    for i in (0, 1, 499, 500, 7000, len(ds) - 1):
        assert source_index(ds, i) == kept[i]


def test_test_split(cifar100_fake_root):
    ds = build(cifar100_fake_root, split='test', imbalance_ratio=100)
    assert len(ds) == 10000
    assert np.bincount(ds.get_gt_labels()).tolist() == [100] * 100
    assert get_class_counts(ds).tolist() == profile(500, 100, 100)
    assert len(ds.metainfo['classes']) == 100


def test_md5_mismatch_is_an_error(cifar100_fake_root):
    with pytest.raises(RuntimeError, match='check_md5=False'):
        build(cifar100_fake_root, split='test', check_md5=True)
