# Copyright (c) ltplug contributors. All rights reserved.
"""``env_cfg.cudnn_benchmark``: on exactly for the configs whose inputs
have one shape per split (all shipped configs: CIFAR 32 x 32,
Fashion-MNIST 28 x 28, 224 x 224 crops) and that do not ask for
determinism; ``randomness.deterministic=True`` turns it off again at run
time (what the kill / resume determinism tests rely on)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from tests.helpers import ROOT

CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                       recursive=True) if '_base_' not in p.split(osp.sep))

# image size of the datasets whose files all have one size
NATIVE_SIZE = {'CIFAR10LT': 32, 'CIFAR100LT': 32, 'FashionMNIST': 28}
# transforms that set the output size, and the key holding it
SIZE_KEYS = {'RandomCrop': 'crop_size', 'RandomResizedCrop': 'scale',
             'CenterCrop': 'crop_size', 'DistortedBoundingBoxCrop': 'scale'}


def _square(size):
    return (size, size) if isinstance(size, int) else tuple(size)


def output_sizes(pipeline, size):
    """The set of image sizes ``pipeline`` can give from input ``size``
    (None: varies with the image)."""
    for t in pipeline:
        kind = t['type']
        if kind in SIZE_KEYS:
            size = _square(t[SIZE_KEYS[kind]])
        elif kind == 'Resize' and not t.get('keep_ratio', False):
            size = _square(t['scale'])
        elif kind in ('ResizeEdge', 'Resize', 'RandomResize'):
            size = None
        elif kind == 'ApplyInBGR':
            inner = output_sizes(t['transforms'], size)
            size = None if inner is None else next(iter(inner))
        elif kind == 'MultiView':
            views = [output_sizes(v, size) for v in t['transforms']]
            if any(v is None for v in views):
                return None
            return set().union(*views)
    return None if size is None else {size}


def split_sizes(cfg, split):
    loader = cfg.get(f'{split}_dataloader')
    if not loader:
        return set()
    dp = cfg.get('data_preprocessor') or {}
    if dp.get('type') == 'DecodeBatchAugDataPreprocessor':
        # the loader yields JPEG bytes; the preprocessor sets the size
        key = 'crop_size' if split == 'train' else 'test_crop_size'
        return {_square(dp.get(key, 224))}
    dataset = loader['dataset']
    while 'dataset' in dataset:  # wrappers
        dataset = dataset['dataset']
    native = NATIVE_SIZE.get(dataset['type'])
    return output_sizes(dataset.get('pipeline', []),
                        None if native is None else _square(native))


@pytest.mark.parametrize('path', CONFIGS)
def test_cudnn_benchmark_choice(path):
    cfg = Config.fromfile(osp.join(ROOT, path))
    sizes = {s: split_sizes(cfg, s) for s in ('train', 'val', 'test')}
    fixed = all(v is not None and len(v) <= 1 for v in sizes.values())
    deterministic = cfg.get('randomness', {}).get('deterministic', False)
    assert fixed, (path, sizes)  # true of every shipped config
    assert cfg.env_cfg.cudnn_benchmark == (fixed and not deterministic), (
        path, sizes, deterministic)


def test_configs_found():
    assert len(CONFIGS) > 50
    assert 'configs/ce/ce_resnet32_1xb128-200e_cifar10-lt-r100.py' in CONFIGS


def test_output_sizes_rules():
    assert output_sizes([dict(type='RandomCrop', crop_size=32, padding=4)],
                        (32, 32)) == {(32, 32)}
    # a resize to the short edge alone leaves the size to the image
    assert output_sizes([dict(type='ResizeEdge', scale=256)], None) is None
    assert output_sizes([
        dict(type='ResizeEdge', scale=256),
        dict(type='CenterCrop', crop_size=224)
    ], None) == {(224, 224)}
    two = dict(type='MultiView', num_views=[1, 1], transforms=[
        [dict(type='RandomResizedCrop', scale=224)],
        [dict(type='RandomResizedCrop', scale=160)]])
    assert output_sizes([two], None) == {(224, 224), (160, 160)}


@pytest.fixture
def restore_torch_flags():
    flags = (torch.backends.cudnn.benchmark,
             torch.backends.cudnn.deterministic,
             torch.are_deterministic_algorithms_enabled())
    yield
    torch.backends.cudnn.benchmark = flags[0]
    torch.backends.cudnn.deterministic = flags[1]
    torch.use_deterministic_algorithms(flags[2])


@pytest.mark.parametrize('deterministic', [False, True])
def test_deterministic_turns_benchmark_off(tmp_path, restore_torch_flags,
                                           deterministic):
    """A Runner from the base runtime (benchmark on) leaves cuDNN's
    benchmark on, unless ``randomness.deterministic`` is set."""
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'default_runtime.py'))
    assert cfg.env_cfg.cudnn_benchmark is True
    cfg.merge_from_dict(dict(
        model=dict(type='ImageClassifier',
                   backbone=dict(type='CIFARResNet', depth=20),
                   neck=dict(type='GlobalAveragePooling'),
                   head=dict(type='LinearClsHead', num_classes=2,
                             in_channels=64)),
        work_dir=str(tmp_path),
        randomness=dict(seed=0, deterministic=deterministic)))
    torch.backends.cudnn.benchmark = False
    Runner.from_cfg(cfg)
    assert torch.backends.cudnn.benchmark is (not deterministic)
