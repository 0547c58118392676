# Copyright (c) ltplug contributors. All rights reserved.
"""The NCL configs parse, build, and their pipelines run; the CIFAR10
AutoAugment policy maps the port's magnitudes onto MMPretrain's."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate, pseudo_collate
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS, TRANSFORMS

from tests.helpers import ROOT

CFG_DIR = osp.join(ROOT, 'configs', 'ncl')
# the ncl-distill_* students (EnsembleDistiller) are tested in
# test_ncl_distill_configs.py
CONFIGS = sorted(
    osp.basename(p) for p in glob.glob(osp.join(CFG_DIR, '*.py'))
    if not osp.basename(p).startswith('ncl-distill_'))

EXPECTED = {
    # config: (num_classes, hcm_n, moco queue or None, head type, epochs)
    'ncl_resnet32_1xb64-400e_cifar100-lt-r100.py':
    (100, 30, None, 'LinearClsHead', 400),
    'ncl_resnet32_1xb64-400e_cifar100-lt-r50.py':
    (100, 30, None, 'LinearClsHead', 400),
    'ncl_resnet32_1xb64-400e_cifar10-lt-r100.py':
    (10, 3, None, 'LinearClsHead', 400),
    'ncl-moco_resnet32_1xb64-400e_cifar100-lt-r100.py':
    (100, 30, 1024, 'LinearClsHead', 400),
    'ncl-moco_resnet32_1xb64-400e_cifar100-lt-r50.py':
    (100, 30, 1024, 'LinearClsHead', 400),
    'ncl-moco_resnet32_1xb64-400e_cifar10-lt-r100.py':
    (10, 3, 1024, 'LinearClsHead', 400),
    'ncl_resnet50_4xb64-200e_imagenet-lt.py':
    (1000, 300, None, 'CosineClsHead', 200),
    'ncl_resnext50-32x4d_4xb64-200e_imagenet-lt.py':
    (1000, 300, None, 'CosineClsHead', 200),
    'ncl-moco_resnet152_8xb32-30e_places-lt.py':
    (365, 122, 65536, 'CosineClsHead', 30),
    'ncl_resnet50_8xb64-400e_inat2018.py':
    (8142, 2442, None, 'CosineClsHead', 400),
}


def load(name: str) -> Config:
    init_default_scope('mmpretrain')
    try:
        return Config.fromfile(osp.join(CFG_DIR, name))
    except FileNotFoundError as e:
        if '_base_/datasets' not in str(e):
            raise
        pytest.skip(f'a base dataset config (another engineer\'s) is not in '
                    f'the tree yet: {e}')


def test_every_config_is_listed():
    assert set(CONFIGS) == set(EXPECTED)


@pytest.mark.parametrize('name', CONFIGS)
def test_config_values(name):
    cfg = load(name)
    num_classes, hcm_n, queue, head, epochs = EXPECTED[name]
    model = cfg.model
    assert model.type == 'NCLMultiExpertClassifier'
    assert model.num_experts == 3
    assert model.head.type == head and model.head.num_classes == num_classes
    assert model.loss.type == 'NCLLoss' and model.loss.hcm_n == hcm_n
    assert model.loss.get('hcm_mask', 'zero') == 'zero'
    assert 'class_counts' not in model.loss  # ClassCountsHook sets them
    if queue is None:
        assert model.get('moco') is None
    else:
        assert model.moco.queue_size == queue
        assert model.moco.temperature == 0.2
        assert model.moco_mode == 'official'
        assert cfg.train_dataloader.collate_fn.type == 'default_collate'
        assert model.data_preprocessor.type == 'SelfSupDataPreprocessor'
    opt = cfg.optim_wrapper.optimizer
    assert opt.type == 'SGD' and opt.nesterov and opt.weight_decay == 2e-4
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.auto_scale_lr.base_batch_size > 0
    assert cfg.train_dataloader.drop_last
    assert {e.type for e in cfg.val_evaluator} == {'ShotAccuracy',
                                                  'ExpertAccuracy'}
    assert any(h.type == 'ClassCountsHook' for h in cfg.custom_hooks)
    if 'cifar' in name:
        assert cfg.train_dataloader.batch_size == 64 and opt.lr == 0.1
        sched = {s.type: s for s in cfg.param_scheduler}
        # WarmupMultiStepLR (from lr / 3 over 5 steps, x0.1 at 320 / 360)
        # stepped at the start of each 1-based epoch: epoch e at step e + 1
        assert sched['LinearLR'].start_factor == pytest.approx(7 / 15)
        assert sched['LinearLR'].end == 5
        assert sched['MultiStepLR'].milestones == [319, 359]
        assert model.backbone.type == 'CIFARResNet'
        assert model.backbone.depth == 32
    if 'imagenet' in name or 'inat' in name:
        assert cfg.param_scheduler.type == 'CosineAnnealingLR'
        assert cfg.param_scheduler.T_max == epochs
        assert model.head.scale == (32. if 'inat' in name else 16.)
    if 'places' in name:
        assert model.backbone.depth == 152
        assert 'resnet152' in model.backbone.init_cfg.checkpoint
        assert model.moco.dim == 1024


# one config per model / pipeline variant (the others differ in data only)
CIFAR_CONFIGS = [
    'ncl_resnet32_1xb64-400e_cifar10-lt-r100.py',
    'ncl-moco_resnet32_1xb64-400e_cifar10-lt-r100.py',
]


@pytest.mark.parametrize('name', CIFAR_CONFIGS)
def test_cifar_model_and_pipeline_run(name):
    """Build the model and run the train pipeline + one loss on fake
    CIFAR images (no dataset needed)."""
    cfg = load(name)
    torch.manual_seed(0)
    np.random.seed(0)
    num_classes = cfg.model.head.num_classes
    cfg.model.loss.class_counts = [10] * num_classes
    model = MODELS.build(cfg.model)
    pipeline = [
        TRANSFORMS.build(t) for t in cfg.train_dataloader.dataset.pipeline
    ]
    batch = []
    rng = np.random.default_rng(0)
    for i in range(4):
        results = dict(
            img=rng.integers(0, 256, (32, 32, 3), dtype=np.uint8),
            gt_label=i % num_classes)
        for t in pipeline:
            results = t(results)
        batch.append(results)
    moco = cfg.model.get('moco') is not None
    collate = default_collate if moco else pseudo_collate
    data = model.data_preprocessor(collate(batch), training=True)
    if moco:
        assert isinstance(data['inputs'], list) and len(data['inputs']) == 2
        assert all(v.shape == (4, 3, 32, 32) for v in data['inputs'])
    else:
        assert data['inputs'].shape == (4, 3, 32, 32)
    losses = model(**data, mode='loss')
    assert ('loss_moco' in losses) == moco
    assert all(torch.isfinite(v) for v in losses.values())


def test_cifar10_policy_magnitudes():
    cfg = Config.fromfile(
        osp.join(CFG_DIR, '_base_', 'cifar10_autoaugment_policy.py'))
    policy = cfg.cifar10_policy
    init_default_scope('mmpretrain')
    assert len(policy) == 25 and all(len(p) == 2 for p in policy)
    flat = [op for sub in policy for op in sub]
    # port: translate = linspace(0, 150/331, 10)[9], shear[8] = 0.3*8/9,
    # posterize round(linspace(8, 4, 10))[7] = 5, solarize linspace(256,
    # 0, 10)[8], color linspace(0, 0.9, 10)[9]
    assert policy[1][1]['type'] == 'Translate'
    assert policy[1][1]['direction'] == 'horizontal'
    assert policy[1][1]['magnitude'] == pytest.approx(
        np.linspace(0, 150 / 331, 10)[9])
    assert policy[3][0]['magnitude'] == pytest.approx(
        np.linspace(0, 0.3, 10)[8])
    assert policy[5][1]['bits'] == int(np.round(np.linspace(8, 4, 10))[7])
    assert policy[18][1]['thr'] == pytest.approx(np.linspace(256, 0, 10)[8])
    assert policy[17][0]['magnitude'] == pytest.approx(
        np.linspace(0, 0.9, 10)[9])
    # the port's rotate_with_fill is PIL's counter-clockwise rotate(+a)
    # without a random sign; MMCV's positive angle is clockwise
    assert policy[1][0]['angle'] == pytest.approx(
        -np.linspace(0, 30, 10)[2])
    assert policy[1][0]['random_negative_prob'] == 0.
    # every sub-policy runs through MMPretrain's AutoAugment
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), np.uint8)
    for sub in policy:
        t = TRANSFORMS.build(dict(type='AutoAugment', policies=[sub]))
        out = t(dict(img=img.copy()))
        assert out['img'].shape == (32, 32, 3)
    assert {op['type'] for op in flat} <= {
        'Invert', 'Contrast', 'Rotate', 'Translate', 'Sharpness', 'Shear',
        'AutoContrast', 'Equalize', 'Posterize', 'ColorTransform',
        'Brightness', 'Solarize'
    }


def test_timm_randaugment_policies_run():
    cfg = Config.fromfile(
        osp.join(CFG_DIR, '_base_', 'randaugment_timm_policies.py'))
    init_default_scope('mmpretrain')
    t = TRANSFORMS.build(
        dict(type='RandAugment', policies=cfg.timm_rand_policies,
             num_policies=2, total_level=10, magnitude_level=10,
             magnitude_std=0.5, hparams=dict(pad_val=[104, 116, 124])))
    img = np.random.default_rng(0).integers(0, 256, (40, 40, 3), np.uint8)
    for _ in range(20):
        assert t(dict(img=img.copy()))['img'].shape == (40, 40, 3)
