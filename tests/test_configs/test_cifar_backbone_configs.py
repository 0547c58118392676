# Copyright (c) ltplug contributors. All rights reserved.
"""Every config with a CIFAR ResNet uses the official option-A (zero-pad)
shortcuts: no 1x1 conv + BN shortcut in its model, and the parameter count
of LDAM-DRW's / NCL's ResNet-32 (see tests/test_models/test_backbones)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from ltplug.models.backbones.cifar_resnet import CIFARResNet
from tests.helpers import ROOT

# backbone parameters without fc, option A: ResNet-32 counted in
# test_cifar_resnet.py; ResNet-20 the same way with 3 blocks a stage
# (LDAM-DRW's resnet20: 269,722 with its 64 * 10 + 10 fc)
OFFICIAL_PARAMS = {20: 269_072, 32: 463_504}

CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                       recursive=True) if '_base_' not in p.split(osp.sep))


def cifar_backbones(cfg):
    """Every ``CIFARResNet`` dict inside ``cfg`` (nested, in lists too)."""
    if isinstance(cfg, (dict, ConfigDict)):
        found = [cfg] if cfg.get('type') == 'CIFARResNet' else []
        for value in cfg.values():
            found += cifar_backbones(value)
        return found
    if isinstance(cfg, (list, tuple)):
        return [b for item in cfg for b in cifar_backbones(item)]
    return []


def _load(path):
    return Config.fromfile(osp.join(ROOT, path))


CIFAR_CONFIGS = [p for p in CONFIGS if cifar_backbones(_load(p).model)]


def test_every_cifar_config_is_found():
    # CE / BS (7 each incl. Fashion-MNIST and batchaug), decoupling 18,
    # CBD 6, NCL 8, SSD 17 at the time of writing: at least these many
    assert len(CIFAR_CONFIGS) >= 50
    names = ' '.join(CIFAR_CONFIGS)
    for method in ('ce/', 'balanced_softmax/', 'decoupling/', 'cbd/',
                   'ncl/', 'ssd/'):
        assert method in names


@pytest.mark.parametrize('path', CIFAR_CONFIGS)
def test_cifar_backbones_use_zero_pad_shortcuts(path):
    init_default_scope('mmpretrain')
    for backbone in cifar_backbones(_load(path).model):
        assert backbone.get('shortcut', 'A') == 'A', path
        model = MODELS.build(backbone.to_dict())
        assert not any('downsample' in k for k in model.state_dict()), path
        if model.arch_settings and backbone.get('in_channels', 3) == 3:
            depth = backbone.get('depth', 32)
            assert sum(p.numel() for p in model.parameters()) == (
                OFFICIAL_PARAMS[depth]), path


@pytest.mark.parametrize('path', [
    p for p in CIFAR_CONFIGS
    if any(k in p for k in ('/ce_', '/ncl', 'ssd-stage1', 'cbd-teacher_'))
])
def test_models_built_from_configs_have_option_a(path):
    """The whole model (every NCL expert and EMA copy, SSD's key encoder)
    as the Runner builds it, for the configs that need no weight file."""
    init_default_scope('mmpretrain')
    model = MODELS.build(_load(path).model)
    resnets = [m for m in model.modules() if isinstance(m, CIFARResNet)]
    assert resnets and all(m.shortcut == 'A' for m in resnets)
    assert not any('downsample' in k for k in model.state_dict())
