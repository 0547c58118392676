# Copyright (c) ltplug contributors. All rights reserved.
import inspect
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import DATASETS, MODELS
from mmpretrain.structures import DataSample

from tests.helpers import ROOT, cfg_options, run_tool

MEAN, STD = [125.307, 122.961, 113.8575], [51.5865, 50.847, 51.255]
CROP_FLIP = [dict(type='BatchRandomCrop', crop_size=32, padding=4),
             dict(type='BatchRandomFlip', prob=0.5)]
CONFIGS = [
    f'configs/batchaug/{stem}-batchaug.py' for stem in (
        'ce_resnet32_1xb128-200e_cifar10-lt-r100',
        'ssd-stage1_resnet32_1xb128-200e_cifar10-lt-r100',
        'ncl-moco_resnet32_1xb64-400e_cifar10-lt-r100')
]


def _data(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8,
                           generator=g)
    samples = [DataSample().set_gt_label(i % 3) for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def _build(views=None, **kwargs):
    return MODELS.build(dict(type='BatchAugDataPreprocessor', mean=MEAN,
                             std=STD, views=views, **kwargs))


def test_eval_normalises_like_cls_data_preprocessor():
    data = _data()
    ours = _build([CROP_FLIP])(data, False)
    ref = MODELS.build(dict(type='ClsDataPreprocessor', mean=MEAN,
                            std=STD))(_data(), False)
    assert torch.allclose(ours['inputs'], ref['inputs'])
    assert [s.gt_label.item() for s in ours['data_samples']] == [0, 1, 2,
                                                                 0, 1, 2,
                                                                 0, 1]


def test_training_augments_each_view_from_the_same_uint8_batch():
    data = _data()
    pre = _build([CROP_FLIP, [dict(type='BatchRandomFlip', prob=1.)]])
    torch.manual_seed(0)
    out = pre(data, True)['inputs']
    assert isinstance(out, list) and len(out) == 2
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    flipped = (data['inputs'].float().flip(3) - mean) / std
    assert torch.allclose(out[1], flipped)  # view 2 saw the raw batch
    assert not torch.allclose(out[0], out[1])
    torch.manual_seed(0)
    again = pre(_data(), True)['inputs']
    assert all(torch.equal(a, b) for a, b in zip(out, again))


def test_one_view_gives_a_tensor_and_a_list_input_is_stacked():
    pre = _build([CROP_FLIP])
    data = _data()
    data['inputs'] = list(data['inputs'])
    out = pre(data, True)['inputs']
    assert isinstance(out, torch.Tensor) and out.shape == (8, 3, 32, 32)


def test_to_rgb_reverses_before_the_ops():
    data = _data()
    pre = _build([[dict(type='BatchRandomGrayscale', prob=1.,
                        channel_weights=(1., 0., 0.))]], to_rgb=True)
    out = pre(data, True)['inputs']
    red = data['inputs'][:, 2:3].float()  # BGR input: red is channel 2
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    assert torch.allclose(out, (red.expand(-1, 3, -1, -1) - mean) / std)


def test_bad_views_quote_the_value():
    with pytest.raises(ValueError, match='oops'):
        _build(['oops'])


@pytest.mark.parametrize('rel', CONFIGS)
def test_batchaug_configs_build_and_give_their_views(rel):
    cfg = Config.fromfile(osp.join(ROOT, rel))
    model_cfg = cfg.model
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    pre = MODELS.build(model_cfg['data_preprocessor'])
    assert cfg.train_dataloader.dataset.pipeline == [dict(type='PackInputs')]
    n = cfg.train_dataloader.batch_size
    out = pre(_data(n), True)['inputs']
    views = 1 if '/ce_' in rel else 2
    outs = [out] if views == 1 else out
    assert len(outs) == views and all(o.shape == (n, 3, 32, 32)
                                      for o in outs)
    assert all(torch.isfinite(o).all() for o in outs)



@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_amp_context_does_not_change_the_augmented_batch(dtype):
    """MMEngine calls the preprocessor inside the optim wrapper's AMP
    context: under autocast (here the CPU's, as a proxy for CUDA's) the
    built NCL + MoCo preprocessor gives the same float32 views as without
    it (the resize's fixed-point matmul cast to fp16 moved pixels by up to
    ~250 levels), and autocast is on again for the model afterwards."""
    cfg = Config.fromfile(osp.join(ROOT, CONFIGS[-1]))
    pre = MODELS.build(cfg.model.data_preprocessor)
    data = _data(64)
    torch.manual_seed(0)
    ref = pre(dict(data), True)['inputs']
    torch.manual_seed(0)
    with torch.autocast('cpu', dtype=dtype):
        out = pre(dict(data), True)['inputs']
        assert torch.is_autocast_enabled('cpu')
    assert len(out) == 2
    for a, b in zip(ref, out):
        assert b.dtype == torch.float32
        assert torch.equal(a, b)

def test_ncl_batchaug_policy_is_the_per_sample_configs():
    ours = Config.fromfile(osp.join(ROOT, CONFIGS[2]))
    ref = Config.fromfile(osp.join(
        ROOT, 'configs/ncl/ncl-moco_resnet32_1xb64-400e_cifar10-lt-r100.py'))
    views = ours.model.data_preprocessor.views
    policy = views[0][2]['policies']
    ref_view = ref.train_dataloader.dataset.pipeline[0]['transforms'][0]
    ref_policy = ref_view[2]['transforms'][0]['policies']
    assert policy == ref_policy and len(policy) == 25


def test_ce_batchaug_trains_one_epoch_on_real_cifar10(cifar10_root, tmp_path):
    """A 1-epoch CE run on a few hundred real CIFAR-10 images through the
    batched path (skips without ../shared/data)."""
    opts = {
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 1,
        'model.backbone.depth': 20,
    }
    for split in ('train', 'val'):
        key = f'{split}_dataloader'
        opts[f'{key}.dataset.data_root'] = cifar10_root
        opts[f'{key}.dataset.imbalance_ratio'] = 10.
        opts[f'{key}.batch_size'] = 32
        opts[f'{key}.num_workers'] = 0
    opts['train_dataloader.dataset.indices'] = 320
    opts['val_dataloader.dataset.indices'] = 200
    params = inspect.signature(DATASETS.get('CIFAR10LT').__init__).parameters
    for name in params:  # the fixture's pickles differ from the md5s
        if 'md5' in name:
            for split in ('train', 'val'):
                opts[f'{split}_dataloader.dataset.{name}'] = False
    work = str(tmp_path / 'work')
    proc = run_tool(['tools/train.py', CONFIGS[0], '--work-dir', work] +
                    cfg_options(opts), timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert 'BatchAugDataPreprocessor' in proc.stdout
    losses = [float(line.split('loss: ')[1].split()[0])
              for line in proc.stdout.splitlines() if 'loss: ' in line]
    assert losses and np.all(np.isfinite(losses))
    assert 'accuracy/top1' in proc.stdout or 'top1' in proc.stdout
