# Copyright (c) ltplug contributors. All rights reserved.
"""The SSD configs load, chain their stages through one checkpoint path
each, and carry the official hyper-parameters (spec §2)."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmpretrain.registry import MODELS

from ltplug.models.classifiers import ssd_queue_size
from tests.helpers import ROOT, unwrap_bgr

CFG_DIR = osp.join(ROOT, 'configs', 'ssd')
CONFIGS = sorted(glob.glob(osp.join(CFG_DIR, 'ssd-*.py')))
NAME = re.compile(r'ssd-stage(\d)(?:-\w+)?_(.+)_(\d+)xb(\d+)-(\d+)e_(.+)\.py')
# training-set sizes (spec §1.1 / §1.2)
NUM_TRAIN = {
    'cifar100-lt-r100': 10847,
    'cifar100-lt-r50': 12608,
    'cifar100-lt-r10': 19573,
    'cifar10-lt-r100': 12406,
    'imagenet-lt': 115846,
    'inat2018': 437513,
}
NUM_CLASSES = {'imagenet-lt': 1000, 'inat2018': 8142}
STAGE_TYPE = {1: 'SSDMoCoClassifier', 2: 'SSDLWSClassifier',
              3: 'SSDDistiller', 4: 'SSDLWSClassifier'}


def parse(path):
    m = NAME.fullmatch(osp.basename(path))
    assert m, f'unexpected config name {osp.basename(path)}'
    stage, arch, gpus, bs, epochs, data = m.groups()
    return int(stage), arch, int(gpus), int(bs), int(epochs), data


def load(path):
    return Config.fromfile(path)


def find(stage, arch, data):
    hits = [c for c in CONFIGS if parse(c)[0] == stage and
            parse(c)[1] == arch and parse(c)[5] == data]
    assert len(hits) == 1, (stage, arch, data, hits)
    return hits[0]


def expected_ckpt(cfg_path):
    epochs = parse(cfg_path)[4]
    name = osp.splitext(osp.basename(cfg_path))[0]
    return f'work_dirs/{name}/epoch_{epochs}.pth'


def test_every_dataset_has_all_four_stages():
    combos = {(parse(c)[1], parse(c)[5]) for c in CONFIGS}
    assert {d for _, d in combos} == set(NUM_TRAIN)
    for arch, data in combos:
        for stage in (1, 2, 3, 4):
            find(stage, arch, data)
    assert ('resnext50-32x4d', 'imagenet-lt') in combos
    assert ('resnet50', 'inat2018') in combos
    assert all(a == 'resnet32' for a, d in combos if d.startswith('cifar'))


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config(path):
    stage, arch, gpus, bs, epochs, data = parse(path)
    cfg = load(path)
    model = cfg.model
    assert model.type == STAGE_TYPE[stage]
    assert cfg.train_dataloader.batch_size == bs
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.train_dataloader.drop_last is True
    # per-epoch cosine from the base lr to 0 over all epochs
    sched = cfg.param_scheduler
    assert sched.type == 'CosineAnnealingLR' and sched.by_epoch
    assert sched.T_max == epochs and sched.eta_min == 0
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.momentum, opt.weight_decay) == ('SGD', 0.9, 5e-4)
    assert not opt.get('nesterov', False)
    # frozen parameters are left out, in one group (foreach SGD)
    assert cfg.optim_wrapper.constructor == 'TrainableOptimWrapperConstructor'
    assert not cfg.optim_wrapper.get('paramwise_cfg')
    classes = model.head.num_classes
    assert classes == NUM_CLASSES.get(
        data, 10 if data.startswith('cifar10-') else 100)
    assert cfg.data_preprocessor.num_classes == classes
    ds = cfg.train_dataloader.dataset
    if data.startswith('cifar'):
        ratio = float(data.rsplit('-r', 1)[1])
        assert ds.imbalance_ratio == ratio
        assert cfg.val_dataloader.dataset.imbalance_ratio == ratio
        assert ds.type == ('CIFAR10LT' if data.startswith('cifar10-')
                           else 'CIFAR100LT')
        assert cfg.val_dataloader.dataset.type == ds.type
        assert model.backbone.depth == 32
    if data == 'imagenet-lt':
        assert model.backbone.type == 'ResNeXt'
        assert (model.backbone.groups, model.backbone.width_per_group) == \
            (32, 4)
    if data == 'imagenet-lt' and stage in (1, 3):
        # the official recipe: 135 epochs, 256 images, lr 0.1
        assert (epochs, gpus * bs, opt.lr) == (135, 256, 0.1)

    if stage == 1:
        global_batch = gpus * bs
        assert model.batch_size == bs
        assert model.queue_size == ssd_queue_size(NUM_TRAIN[data],
                                                  global_batch)
        assert model.momentum == 0.999 and model.shuffle_bn
        assert model.contrast_loss.temperature == 0.2
        assert model.contrast_loss.loss_weight == 1.0
        assert model.proj_dim == 128
        assert model.hidden_dim == model.feat_dim == \
            model.head.in_channels
        assert model.data_preprocessor.type == 'SelfSupDataPreprocessor'
        assert model.data_preprocessor.mean == cfg.data_preprocessor.mean
        mv = [t for t in cfg.train_dataloader.dataset.pipeline
              if t.type == 'MultiView'][0]
        assert mv.num_views == [1, 1] and len(mv.transforms) == 2
        jitter = [t for t in unwrap_bgr(mv.transforms[1])
                  if t.type == 'RandomApply'][0]
        assert jitter.prob == 0.8
        assert jitter.transforms[0].hue == 0.1  # the code's MoCo v2 view
        assert cfg.train_dataloader.collate_fn.type == 'default_collate'
        assert cfg.val_dataloader.collate_fn.type == 'default_collate'
    if stage in (2, 4):
        assert epochs == 5
        assert cfg.train_dataloader.sampler == dict(
            type='ClassAwareSampler', num_samples_cls=2)
        assert model.head.type == 'LWSHead'
        assert model.frozen_bn_mode == 'train'
        prev = find(1 if stage == 2 else 3, arch, data)
        assert model.init_checkpoint == expected_ckpt(prev)
    if stage == 3:
        assert model.kd_loss == dict(type='KDLoss', temperature=2.0,
                                     loss_weight=1.0)
        assert model.teacher_bn_mode == 'train'
        assert model.predict_head == 'soft'
        prev = find(2, arch, data)
        # the one vocabulary of the distillers: a list of one teacher
        assert 'teacher' not in model and len(model.teachers) == 1
        assert osp.join(ROOT, model.teachers[0].config) == prev
        assert model.teachers[0].checkpoint == expected_ckpt(prev)
        teacher = load(prev)
        assert teacher.model.head.num_classes == classes
        assert teacher.model.backbone == model.backbone
        assert teacher.data_preprocessor == cfg.data_preprocessor
        assert [e.type for e in cfg.val_evaluator] == ['ShotAccuracy',
                                                       'ExpertAccuracy']


@pytest.mark.parametrize('stage', [1, 2])
def test_cifar_models_build(stage):
    cfg = load(find(stage, 'resnet32', 'cifar100-lt-r100'))
    model = cfg.model
    model.setdefault('data_preprocessor', cfg.data_preprocessor)
    built = MODELS.build(model)
    assert built.head.num_classes == 100


def test_stage1_queue_error_at_build():
    cfg = load(find(1, 'resnet32', 'cifar100-lt-r100'))
    cfg.model.batch_size = 100
    with pytest.raises(ValueError, match=r'queue_size=10752.*100'):
        MODELS.build(cfg.model)


def test_cifar_two_view_pipeline_runs():
    """Both views of the stage-I pipeline (hue jitter included) on an
    image; PackInputs gives a list of two 3 x 32 x 32 tensors."""
    import numpy as np
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import TRANSFORMS
    cfg = load(find(1, 'resnet32', 'cifar100-lt-r100'))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipe = Compose([TRANSFORMS.build(t) for t in cfg.train_pipeline])
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3),
                                            dtype=np.uint8)
    for _ in range(20):
        out = pipe(dict(img=img, gt_label=3))
    assert [tuple(v.shape) for v in out['inputs']] == [(3, 32, 32)] * 2
