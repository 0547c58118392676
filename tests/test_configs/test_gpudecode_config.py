# Copyright (c) ltplug contributors. All rights reserved.
"""The decode-on-the-device configs (``configs/batchaug/*-gpudecode.py``)
change only the data path of their per-sample reference, and the ImageNet-LT
one builds its dataloaders and model and trains one step on tiny generated
ImageNet-LT JPEGs, on the CPU (the same code decodes with nvjpeg on CUDA)."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.registry import MODELS

from tests.helpers import ROOT

CFG = 'configs/batchaug/ce_resnet50_4xb128-90e_imagenet-lt-gpudecode.py'
REF = 'configs/ce/ce_resnet50_4xb128-90e_imagenet-lt.py'
#: every decode-on-the-device config and its per-sample reference
PAIRS = [
    (CFG, REF),
    ('configs/batchaug/ce_resnet152-in1k-pre_4xb64-30e_places-lt-gpudecode.py',
     'configs/ce/ce_resnet152-in1k-pre_4xb64-30e_places-lt.py'),
    ('configs/batchaug/ce_resnet50_4xb128-90e_inat2018-gpudecode.py',
     'configs/ce/ce_resnet50_4xb128-90e_inat2018.py'),
]


def fake_imagenet_lt(root: str, n: int = 4) -> None:
    """``n`` JPEGs of different sizes; the train list names them for all
    1000 classes (class c -> image c % n), val / test lists the first n."""
    rng = np.random.default_rng(0)
    sizes = [(50, 37), (120, 90), (64, 101), (90, 90)]
    rel = []
    for i in range(n):
        w, h = sizes[i % len(sizes)]
        path = osp.join(root, 'train', 'n0', f'{i}.JPEG')
        os.makedirs(osp.dirname(path), exist_ok=True)
        cv2.imwrite(path, rng.integers(0, 256, (h, w, 3)).astype(np.uint8))
        rel.append(f'train/n0/{i}.JPEG')
    lines = ''.join(f'{rel[c % n]} {c}\n' for c in range(1000))
    for split in ('train', 'val', 'test'):
        with open(osp.join(root, f'ImageNet_LT_{split}.txt'), 'w') as f:
            f.write(lines if split == 'train' else ''.join(
                f'{r} {i}\n' for i, r in enumerate(rel)))


def test_every_gpudecode_config_is_listed():
    found = sorted(
        f'configs/batchaug/{f}'
        for f in os.listdir(osp.join(ROOT, 'configs', 'batchaug'))
        if f.endswith('-gpudecode.py'))
    assert found == sorted(c for c, _ in PAIRS)


def _train_ops(pipeline):
    """The reference's random train ops, as (type, key arguments)."""
    return [(t['type'], t.get('scale'), t.get('prob'), t.get('brightness'))
            for t in pipeline if t['type'] not in ('LoadImageFromFileChecked',
                                                   'PackInputs')]


def _without_pipeline(dataset) -> dict:
    """A dataset config without its pipeline."""
    return {k: v for k, v in dataset.items() if k != 'pipeline'}


@pytest.mark.parametrize('cfg_path,ref_path', PAIRS,
                         ids=[osp.basename(c) for c, _ in PAIRS])
def test_config_swaps_only_the_data_path(cfg_path, ref_path):
    cfg, ref = (Config.fromfile(osp.join(ROOT, p))
                for p in (cfg_path, ref_path))
    assert cfg.model.to_dict() == ref.model.to_dict()
    assert cfg.optim_wrapper.to_dict() == ref.optim_wrapper.to_dict()
    assert cfg.param_scheduler == ref.param_scheduler
    assert cfg.train_cfg.to_dict() == ref.train_cfg.to_dict()
    for key in ('batch_size', 'sampler'):
        assert cfg.train_dataloader[key] == ref.train_dataloader[key]
    assert _without_pipeline(cfg.train_dataloader.dataset) == \
        _without_pipeline(ref.train_dataloader.dataset)
    # the reference augments with exactly what the device path draws
    assert _train_ops(ref.train_dataloader.dataset.pipeline) == [
        ('RandomResizedCrop', 224, None, None),
        ('RandomFlip', None, 0.5, None),
        ('ColorJitter', None, None, 0.4)]
    dp = cfg.data_preprocessor
    assert dp.type == 'DecodeBatchAugDataPreprocessor'
    assert dp.crop_size == 224 and dp.test_crop_size == 224
    assert dp.test_resize_edge == 256
    assert [t['type'] for t in dp.views[0]] == ['BatchRandomFlip',
                                                'BatchColorJitter']
    assert dp.mean == ref.data_preprocessor.mean
    assert dp.std == ref.data_preprocessor.std
    assert ref.data_preprocessor.to_rgb and not cfg.data_preprocessor.to_rgb
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].collate_fn.type == 'pseudo_collate'
        assert [t.type for t in cfg[key].dataset.pipeline] == [
            'LoadJPEGBytes', 'PackInputs']


def test_dataloader_model_and_one_train_step(tmp_path):
    root = str(tmp_path / 'imagenet')
    fake_imagenet_lt(root)
    cfg = Config.fromfile(osp.join(ROOT, CFG))
    init_default_scope('mmpretrain')
    loaders = {}
    for key in ('train_dataloader', 'val_dataloader'):
        dl = cfg[key].to_dict()
        dl.update(batch_size=4, num_workers=0, persistent_workers=False)
        dl['dataset']['data_root'] = root
        loaders[key] = Runner.build_dataloader(dl, seed=0)
    model_cfg = cfg.model.to_dict()
    # 64 px instead of 224 keeps the ResNet-50 step cheap on the CPU
    model_cfg['data_preprocessor'] = dict(
        cfg.data_preprocessor.to_dict(), crop_size=64, test_resize_edge=72,
        test_crop_size=64)
    model = MODELS.build(model_cfg)
    batch = next(iter(loaders['train_dataloader']))
    assert isinstance(batch['inputs'], list)
    assert all(t.dim() == 1 and t.dtype == torch.uint8
               for t in batch['inputs'])
    x = model.data_preprocessor(batch, True)['inputs']
    assert x.shape == (4, 3, 64, 64)
    optim = torch.optim.SGD(model.parameters(), lr=0.01)
    torch.manual_seed(0)
    losses = model.train_step(batch, OptimWrapper(optim))
    assert torch.isfinite(losses['loss'])
    model.eval()
    val = next(iter(loaders['val_dataloader']))
    with torch.no_grad():
        out = model.val_step(val)
    assert len(out) == 4 and out[0].pred_score.shape == (1000, )
