# Copyright (c) ltplug contributors. All rights reserved.
"""CIFAR10LT on the real CIFAR-10 (``../shared``, JPEG round trip, so the
official md5s do not match and ``check_md5=False`` is needed)."""
import os
import os.path as osp

import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from ltplug.datasets import get_class_counts


def profile(n_max, num_classes, ratio):
    """The exponential profile, written independently."""
    return [
        int(n_max * (1.0 / ratio)**(c / (num_classes - 1.0)))
        for c in range(num_classes)
    ]


def ldam_reference(labels, counts):
    """LDAM-DRW ``IMBALANCECIFAR10.gen_imbalanced_data`` with
    ``np.random.seed(0)``, as in its code."""
    state = np.random.get_state()
    try:
        np.random.seed(0)
        kept = []
        for c, n_c in enumerate(counts):
            idx = np.where(labels == c)[0]
            np.random.shuffle(idx)
            kept.extend(idx[:n_c].tolist())
    finally:
        np.random.set_state(state)
    return np.asarray(kept)


def build(root, **kwargs):
    kwargs.setdefault('check_md5', False)
    return DATASETS.build(dict(type='CIFAR10LT', data_root=root, **kwargs))


def images(ds, step=1):
    """Every ``step``-th image (and the last one) of ``ds``."""
    idx = sorted(set(range(0, len(ds), step)) | {len(ds) - 1})
    return np.stack([ds.get_data_info(i)['img'] for i in idx])


def file_order(cifar10_arrays):
    """Training images and labels in the order of the written batch files
    (``load_cifar10.write_pickles`` spreads them with
    ``RandomState(0).permutation``)."""
    (x_tr, y_tr), _, _ = cifar10_arrays
    perm = np.random.RandomState(0).permutation(len(y_tr))
    return x_tr[perm], y_tr[perm]


@pytest.fixture(scope='module')
def train_r100(cifar10_root):
    return build(cifar10_root, split='train', imbalance_ratio=100)


def test_train_ratio_100(train_r100, cifar10_arrays):
    ds = train_r100
    expected = profile(5000, 10, 100)
    assert sum(expected) == 12406 and len(ds) == 12406
    assert get_class_counts(ds).tolist() == expected
    assert np.bincount(ds.get_gt_labels(), minlength=10).tolist() == expected
    assert list(ds.metainfo['classes']) == cifar10_arrays[2]


def test_ldam_selection_is_the_reference_one(train_r100, cifar10_arrays):
    x_tr, y_tr = file_order(cifar10_arrays)
    kept = ldam_reference(y_tr, profile(5000, 10, 100))
    np.testing.assert_array_equal(train_r100.get_gt_labels(), y_tr[kept])
    step = 13
    sample = sorted(set(range(0, len(kept), step)) | {len(kept) - 1})
    np.testing.assert_array_equal(images(train_r100, step),
                                  x_tr[kept][sample])


def test_selection_is_deterministic_and_seeded(cifar10_root, train_r100):
    again = build(cifar10_root, split='train', imbalance_ratio=100)
    np.testing.assert_array_equal(images(again, 11), images(train_r100, 11))
    other = build(cifar10_root, split='train', imbalance_ratio=100, seed=1)
    assert get_class_counts(other).tolist() == profile(5000, 10, 100)
    assert not np.array_equal(images(other, 11), images(train_r100, 11))


@pytest.mark.parametrize('ratio,size', [(50, 13996), (10, 20431)])
def test_other_ratios(cifar10_root, ratio, size):
    ds = build(cifar10_root, split='train', imbalance_ratio=ratio,
               selection='first')
    assert len(ds) == size == sum(profile(5000, 10, ratio))


def test_test_split_is_full_and_balanced(cifar10_root, cifar10_arrays):
    _, (x_te, y_te), _ = cifar10_arrays
    ds = build(cifar10_root, split='test', imbalance_ratio=100)
    assert len(ds) == 10000
    assert np.bincount(ds.get_gt_labels()).tolist() == [1000] * 10
    # the training counts, for many / medium / few
    assert get_class_counts(ds).tolist() == profile(5000, 10, 100)
    sample = sorted(set(range(0, 10000, 17)) | {9999})
    np.testing.assert_array_equal(images(ds, 17), x_te[sample])


def test_pipeline_runs(cifar10_root):
    ds = build(cifar10_root, split='test', imbalance_ratio=100,
               pipeline=[dict(type='RandomCrop', crop_size=32, padding=4),
                         dict(type='PackInputs')])
    item = ds[3]
    assert tuple(item['inputs'].shape) == (3, 32, 32)


def test_md5_check_raises_and_never_downloads(cifar10_root, monkeypatch):
    import mmpretrain.datasets.cifar as cifar_module

    def no_download(*args, **kwargs):
        raise AssertionError('CIFAR10LT tried to download')

    monkeypatch.setattr(cifar_module, 'download_and_extract_archive',
                        no_download)
    folder = osp.join(cifar10_root, 'cifar-10-batches-py')
    before = {n: os.stat(osp.join(folder, n)).st_mtime_ns
              for n in os.listdir(folder)}
    for download in (False, True):
        with pytest.raises(RuntimeError, match='check_md5=False'):
            build(cifar10_root, split='train', check_md5=True,
                  download=download)
    after = {n: os.stat(osp.join(folder, n)).st_mtime_ns
             for n in os.listdir(folder)}
    assert after == before


def test_missing_files_without_download(tmp_path):
    with pytest.raises(RuntimeError, match='Cannot find'):
        build(str(tmp_path), split='train')


@pytest.mark.parametrize('dataset_type', ['CIFAR10LT', 'CIFAR100LT'])
@pytest.mark.parametrize('kwargs,error,message', [
    (dict(imbalance_ratio='100'), TypeError,
     r"LT: imbalance_ratio must be a number, but got '100' \(str\); a "
     'quoted value in a config or in --cfg-options'),
    (dict(imbalance_ratio=0.5), ValueError, 'imbalance_ratio must be >= 1'),
    (dict(max_per_class='10'), TypeError, 'max_per_class must be an int'),
    (dict(seed=1.5), TypeError, 'seed must be an int, but got 1.5'),
])
def test_bad_numbers_named_before_any_file_is_read(tmp_path, dataset_type,
                                                   kwargs, error, message):
    with pytest.raises(error, match=message):
        DATASETS.build(dict(type=dataset_type, data_root=str(tmp_path),
                            **kwargs))
