# Copyright (c) ltplug contributors. All rights reserved.
"""The base dataset configs load, hold the documented values, and their
datasets build: CIFAR-10-LT on the real CIFAR-10, CIFAR-100-LT on a
synthetic copy, the list datasets on tiny lists written here."""
import copy
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS, METRICS
from PIL import Image

from ltplug.datasets import get_class_counts
from tests.helpers import ROOT

CFG_DIR = osp.join(ROOT, 'configs', '_base_', 'datasets')

# name: (dataset type, num classes, data root, batch, topk, splits)
EXPECTED = {
    'cifar10_lt.py': ('CIFAR10LT', 10, 'data/cifar10', 128, (1, ),
                      ('train', 'test', 'test')),
    'cifar100_lt.py': ('CIFAR100LT', 100, 'data/cifar100', 128, (1, ),
                       ('train', 'test', 'test')),
    'imagenet_lt.py': ('ImageNetLT', 1000, 'data/imagenet', 64, (1, 5),
                       ('train', 'val', 'test')),
    'places_lt.py': ('PlacesLT', 365, 'data/places365', 64, (1, 5),
                     ('train', 'val', 'test')),
    'inat2018.py': ('INaturalist2018', 8142, 'data/inat2018', 64, (1, 5),
                    ('train', 'val', 'val')),
}
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def load(name):
    init_default_scope('mmpretrain')
    return Config.fromfile(osp.join(CFG_DIR, name))


def test_configs_present():
    # other engineers may add configs here (e.g. fashion_mnist_lt.py)
    assert set(EXPECTED) <= set(os.listdir(CFG_DIR))


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_values(name):
    cfg = load(name)
    ds_type, num_classes, root, batch, topk, splits = EXPECTED[name]
    assert cfg.dataset_type == ds_type
    assert cfg.data_preprocessor.num_classes == num_classes
    assert len(cfg.data_preprocessor.mean) == 3
    assert len(cfg.data_preprocessor.std) == 3
    for loader, split in zip(LOADERS, splits):
        dl = cfg[loader]
        assert dl.dataset.type == ds_type
        assert dl.dataset.data_root == root
        assert dl.dataset.split == split
        assert dl.batch_size == batch
        assert dl.sampler.type == 'DefaultSampler'
        assert dl.sampler.shuffle == (loader == 'train_dataloader')
    for key in ('val_evaluator', 'test_evaluator'):
        assert cfg[key].type == 'ShotAccuracy'
        assert tuple(cfg[key].topk) == topk
    train_ops = [t.type for t in cfg.train_pipeline]
    test_ops = [t.type for t in cfg.test_pipeline]
    if 'cifar' in name:
        # MMPretrain's CIFAR statistics; the arrays are RGB already
        assert cfg.data_preprocessor.to_rgb is False
        assert train_ops == ['RandomCrop', 'RandomFlip', 'PackInputs']
        assert cfg.train_pipeline[0].crop_size == 32
        assert cfg.train_pipeline[0].padding == 4
        assert test_ops == ['PackInputs']
        for loader in LOADERS:  # train counts on the test split too
            assert cfg[loader].dataset.imbalance_ratio == 100
    else:
        assert cfg.data_preprocessor.to_rgb is True
        assert cfg.data_preprocessor.mean == [123.675, 116.28, 103.53]
        assert train_ops == ['LoadImageFromFileChecked', 'RandomResizedCrop',
                             'RandomFlip', 'PackInputs']
        assert cfg.train_pipeline[1].scale == 224
        assert test_ops == ['LoadImageFromFileChecked', 'ResizeEdge',
                            'CenterCrop',
                            'PackInputs']
        assert cfg.test_pipeline[1].scale == 256
        assert cfg.test_pipeline[2].crop_size == 224
    assert cfg.train_pipeline[-2].type == 'RandomFlip'
    assert cfg.train_pipeline[-2].prob == 0.5


def build_split(cfg, loader, **override):
    ds_cfg = copy.deepcopy(cfg[loader].dataset)
    ds_cfg.update(override)
    return DATASETS.build(ds_cfg)


def test_cifar10_lt_builds_on_real_data(cifar10_root):
    cfg = load('cifar10_lt.py')
    train = build_split(cfg, 'train_dataloader', data_root=cifar10_root,
                        check_md5=False)
    test = build_split(cfg, 'test_dataloader', data_root=cifar10_root,
                       check_md5=False)
    assert len(train) == 12406 and len(test) == 10000
    np.testing.assert_array_equal(get_class_counts(test),
                                  get_class_counts(train))
    item = train[0]
    assert tuple(item['inputs'].shape) == (3, 32, 32)
    metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = test.metainfo
    assert metric is not None


def test_cifar100_lt_builds(tmp_path):
    from tests.test_datasets.conftest import write_fake_cifar100
    root = write_fake_cifar100(str(tmp_path))
    cfg = load('cifar100_lt.py')
    train = build_split(cfg, 'train_dataloader', data_root=root,
                        check_md5=False)
    assert len(train) == 10847
    assert tuple(train[5]['inputs'].shape) == (3, 32, 32)


@pytest.fixture
def list_root(tmp_path):
    """Tiny official-named lists for every list dataset: the train list has
    one line per class (all pointing at one 40x50 image), the eval lists
    two lines."""
    Image.fromarray(
        np.random.default_rng(0).integers(0, 256, (40, 50, 3),
                                          np.uint8)).save(tmp_path / 'im.jpg')
    return tmp_path


@pytest.mark.parametrize('name', ['imagenet_lt.py', 'places_lt.py',
                                  'inat2018.py'])
def test_list_datasets_build(list_root, name):
    cfg = load(name)
    ds_type, num_classes, _, _, _, splits = EXPECTED[name]
    # the official file names, from the dataset class
    cls = DATASETS.get(ds_type)
    for split, list_name in cls.LIST_FILES.items():
        lines = ([f'im.jpg {c}' for c in range(num_classes)]
                 if split == 'train' else ['im.jpg 0', f'im.jpg '
                                           f'{num_classes - 1}'])
        (list_root / list_name).write_text('\n'.join(lines) + '\n')
    for loader, split in zip(LOADERS, splits):
        ds = build_split(cfg, loader, data_root=str(list_root))
        assert len(ds) == (num_classes if split == 'train' else 2)
        assert get_class_counts(ds).tolist() == [1] * num_classes
        item = ds[len(ds) - 1]
        shape = (3, 224, 224)
        assert tuple(item['inputs'].shape) == shape
        assert item['data_samples'].gt_label.tolist() == [num_classes - 1]
