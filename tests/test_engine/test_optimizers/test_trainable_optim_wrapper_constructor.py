# Copyright (c) ltplug contributors. All rights reserved.
"""``TrainableOptimWrapperConstructor``: the trainable parameters only, in
as few groups as their settings allow, each with the lr / weight decay
MMEngine's default constructor gives it."""
import glob
import logging
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from tests.helpers import ROOT

CONSTRUCTOR = 'TrainableOptimWrapperConstructor'
SGD = dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4)


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmpretrain')
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)  # one "skipped" line per frozen tensor
    yield
    logger.setLevel(level)


def settings(optimizer):
    """``{param id: (lr, weight_decay, momentum, nesterov, dampening)}``."""
    return {
        id(p): tuple(g[k] for k in ('lr', 'weight_decay', 'momentum',
                                    'nesterov', 'dampening'))
        for g in optimizer.param_groups for p in g['params']
    }


def toy():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4),
                          nn.Linear(4, 2), nn.Linear(2, 2))
    for p in model[3].parameters():
        p.requires_grad = False
    return model


def test_one_group_without_frozen_parameters():
    model = toy()
    opt = build_optim_wrapper(
        model, dict(optimizer=SGD, constructor=CONSTRUCTOR)).optimizer
    assert len(opt.param_groups) == 1
    assert opt.param_groups[0]['params'] == [
        p for p in model.parameters() if p.requires_grad]
    # MMEngine's default with no paramwise_cfg keeps the frozen tensors
    default = build_optim_wrapper(model, dict(optimizer=SGD)).optimizer
    assert len(default.param_groups[0]['params']) == 8


def test_paramwise_rules_are_kept_and_groups_merged():
    model = toy()
    paramwise = dict(norm_decay_mult=0., bias_lr_mult=2.)
    new = build_optim_wrapper(model, dict(
        optimizer=SGD, constructor=CONSTRUCTOR,
        paramwise_cfg=paramwise)).optimizer
    old = build_optim_wrapper(
        model, dict(optimizer=SGD, paramwise_cfg=paramwise)).optimizer
    assert len(old.param_groups) == 6  # one per trainable tensor
    # conv / linear weights; conv / linear biases (lr x2); BN (no decay)
    assert len(new.param_groups) == 3
    assert settings(new) == settings(old)


def test_a_no_op_multiplier_merges_with_the_defaults():
    model = toy()
    opt = build_optim_wrapper(model, dict(
        optimizer=SGD, constructor=CONSTRUCTOR,
        paramwise_cfg=dict(norm_decay_mult=1.0))).optimizer
    assert len(opt.param_groups) == 1


SSD_CIFAR = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', 'ssd', '*resnet32*.py')))


@pytest.mark.parametrize('path', SSD_CIFAR, ids=osp.basename)
def test_ssd_configs_one_group_same_decay(path, tmp_path):
    """Before: ``paramwise_cfg=dict(norm_decay_mult=1.0)``, one group per
    tensor (97 for the CIFAR stage III); now one group, the same parameters
    with the same lr / weight decay, and no frozen (teacher, EMA key encoder,
    frozen encoder) parameter in it."""
    cfg = Config.fromfile(osp.join(ROOT, path))
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    for teacher in cfg.model.get('teachers', []):  # a file to build from
        model = MODELS.build(Config.fromfile(teacher.config).model)
        teacher.checkpoint = str(tmp_path / 'teacher.pth')
        torch.save(dict(state_dict=model.state_dict()), teacher.checkpoint)
    assert cfg.optim_wrapper.constructor == CONSTRUCTOR
    assert 'paramwise_cfg' not in cfg.optim_wrapper
    model = MODELS.build(cfg.model)
    new = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    before = cfg.optim_wrapper.copy()
    before.pop('constructor')
    before.paramwise_cfg = dict(norm_decay_mult=1.0)
    old = build_optim_wrapper(model, before).optimizer
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(new.param_groups) == 1
    assert len(old.param_groups) == len(trainable)  # one per tensor
    assert settings(new) == settings(old)
    in_opt = {id(p) for p in new.param_groups[0]['params']}
    frozen = [p for p in model.parameters() if not p.requires_grad]
    assert not any(id(p) in in_opt for p in frozen)
    assert in_opt == {id(p) for p in trainable}
    if 'stage3' in path:
        teacher = list(model.teachers[0].parameters())
        assert teacher and not any(id(p) in in_opt for p in teacher)
        # ResNet-32 (31 convs + 31 BN x 2) + hard and soft heads (2 + 2)
        assert len(old.param_groups) == 97
