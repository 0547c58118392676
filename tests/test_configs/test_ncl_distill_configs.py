# Copyright (c) ltplug contributors. All rights reserved.
"""The NCL-distillation configs: a student the size of one expert of the NCL
config it distils, the same data pipeline, and, built with a fake teacher
checkpoint of that NCL config, one train step with the teacher frozen, out
of the optimizer and out of the checkpoint."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ltplug.models.utils.teacher import teacher_model_cfg
from tests.helpers import ROOT

CFG_DIR = osp.join(ROOT, 'configs', 'ncl')
CONFIGS = sorted(osp.basename(p)
                 for p in glob.glob(osp.join(CFG_DIR, 'ncl-distill_*.py')))
EXPECTED = {
    # config: (its NCL teacher config, classes, input size)
    'ncl-distill_resnet32_1xb64-400e_cifar10-lt-r100.py':
    ('ncl_resnet32_1xb64-400e_cifar10-lt-r100.py', 10, 32),
    'ncl-distill_resnet32_1xb64-400e_cifar100-lt-r100.py':
    ('ncl_resnet32_1xb64-400e_cifar100-lt-r100.py', 100, 32),
    'ncl-distill_resnet50_4xb64-200e_imagenet-lt.py':
    ('ncl_resnet50_4xb64-200e_imagenet-lt.py', 1000, 64),
}


def load(name: str) -> Config:
    init_default_scope('mmpretrain')
    try:
        return Config.fromfile(osp.join(CFG_DIR, name))
    except FileNotFoundError as e:
        if '_base_/datasets' not in str(e):
            raise
        pytest.skip(f'a base dataset config is not in the tree yet: {e}')


def test_every_config_is_listed():
    assert set(CONFIGS) == set(EXPECTED)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_same_data_and_one_expert(name):
    cfg = load(name)
    teacher_name, num_classes, _ = EXPECTED[name]
    ncl = load(teacher_name)
    spec, = cfg.model.teachers
    assert osp.samefile(spec.config, osp.join(CFG_DIR, teacher_name))
    assert spec.checkpoint.startswith(
        'work_dirs/' + teacher_name[:-3] + '/epoch_')
    # the data pipeline, batch and schedule are the teacher's; the sampler
    # is CBD's class-balanced resampling instead of NCL's instance sampling
    for key in ('val_dataloader', 'param_scheduler', 'train_cfg'):
        assert cfg[key] == ncl[key], key
    assert ncl.train_dataloader.sampler.type == 'DefaultSampler'
    assert cfg.train_dataloader.sampler == dict(
        type='ClassBalancedResampleSampler')
    assert {k: v for k, v in cfg.train_dataloader.items()
            if k != 'sampler'} == {k: v for k, v in
                                   ncl.train_dataloader.items()
                                   if k != 'sampler'}
    assert cfg.optim_wrapper.optimizer == ncl.optim_wrapper.optimizer
    # the student is one expert
    assert cfg.model.type == 'EnsembleDistiller'
    assert cfg.model.backbone == ncl.model.backbone
    assert cfg.model.neck == ncl.model.neck
    for key in ('type', 'num_classes', 'in_channels'):
        assert cfg.model.head[key] == ncl.model.head[key]
    assert cfg.model.head.num_classes == num_classes
    assert cfg.model.data_preprocessor == ncl.model.data_preprocessor
    # the defaults the README explains
    # plain CE: the sampler balances the classes already
    assert cfg.model.head.loss == dict(type='CrossEntropyLoss',
                                       loss_weight=1.0)
    assert cfg.model.kd_loss == dict(type='KDLoss', temperature=2.0,
                                     loss_weight=1.0)
    assert cfg.model.feat_loss is None
    evaluators = cfg.val_evaluator
    evaluators = evaluators if isinstance(evaluators, list) else [evaluators]
    assert [e['type'] for e in evaluators] == ['ShotAccuracy']


def fake_teacher(cfg, tmp_path):
    """The NCL teacher of the config built at random init, saved."""
    spec = cfg.model.teachers[0]
    torch.manual_seed(1)
    teacher = MODELS.build(teacher_model_cfg(spec.config, 'ncl'))
    teacher.init_weights()
    path = str(tmp_path / 'ncl.pth')
    torch.save(dict(state_dict=teacher.state_dict()), path)
    return path


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_one_train_step_with_fake_teacher(name, tmp_path):
    cfg = load(name)
    _, num_classes, size = EXPECTED[name]
    cfg.model.teachers[0].checkpoint = fake_teacher(cfg, tmp_path)
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert len(model.teachers) == 1
    teacher = model.teachers[0]
    assert type(teacher).__name__ == 'NCLMultiExpertClassifier'
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    in_optim = {id(p) for g in optim.optimizer.param_groups
                for p in g['params']}
    assert not any(id(p) in in_optim for p in teacher.parameters())
    assert {id(p) for p in model.parameters()
            if p.requires_grad} == in_optim
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    g = torch.Generator().manual_seed(0)
    data = dict(
        inputs=[torch.randint(0, 256, (3, size, size), generator=g,
                              dtype=torch.uint8) for _ in range(2)],
        data_samples=[DataSample().set_gt_label(i) for i in range(2)])
    model.train()
    losses = model.train_step(data, optim)
    assert {'loss_cls', 'loss_kd'} <= set(losses)
    assert 'loss_feat' not in losses
    assert all(torch.isfinite(v) for v in losses.values())
    for k, v in teacher.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert not teacher.training
    state = model.state_dict()
    assert state and not any(k.startswith('teachers.') for k in state)
