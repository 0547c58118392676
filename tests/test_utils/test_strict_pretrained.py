# Copyright (c) ltplug contributors. All rights reserved.
"""Strict ``init_cfg=dict(type='Pretrained', ...)`` (issue 18.1): the
decoupling configs (cRT, LWS) built through the registry refuse a stage-one
checkpoint that does not fit the module it initialises, naming the file, the
module and the keys; a backbone-only prefix lets a class-count change
through; partial loads are explicit in the init_cfg and logged."""
import copy
import logging
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from mmengine.model.weight_init import PretrainedInit
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from ltplug.utils import CheckpointMismatchError, setup_compat
from ltplug.utils.strict_pretrained import (PRETRAINED_HINT,
                                            patch_pretrained_init_strict)
from tests.helpers import ROOT

init_default_scope('mmpretrain')

CE = 'configs/ce/ce_resnet32_1xb128-200e_cifar10-lt-r100.py'
CRT = 'configs/decoupling/crt_resnet32_1xb128-10e_cifar10-lt-r100.py'
LWS = 'configs/decoupling/lws_resnet32_1xb128-10e_cifar10-lt-r100.py'


def _model_cfg(path: str) -> dict:
    return Config.fromfile(osp.join(ROOT, path)).model.to_dict()


def _save(model: torch.nn.Module, path: str) -> str:
    torch.save(dict(meta=dict(epoch=200), state_dict=model.state_dict()), path)
    return path


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    """Stage-one (CE) checkpoints: the right one (ResNet-32, 10 classes),
    another depth (ResNet-20) and another class count (100)."""
    root = tmp_path_factory.mktemp('ce')
    out = {}
    for name, edit in (('good', {}), ('r20', dict(depth=20)),
                       ('c100', dict(num_classes=100))):
        cfg = _model_cfg(CE)
        if 'depth' in edit:
            cfg['backbone']['depth'] = edit['depth']
        if 'num_classes' in edit:
            cfg['head']['num_classes'] = edit['num_classes']
        torch.manual_seed(len(out))
        out[name] = _save(MODELS.build(cfg), str(root / f'ce_{name}.pth'))
    return out


def _stage_two(path: str, ckpt: str, **init) -> torch.nn.Module:
    """The stage-two model of a shipped config, with its stage-one file
    replaced by ``ckpt`` (and ``init`` added to each Pretrained entry)."""
    cfg = _model_cfg(path)
    for part in ('backbone', 'head'):
        entry = cfg[part].get('init_cfg')
        if isinstance(entry, dict) and entry.get('type') == 'Pretrained':
            entry.update(checkpoint=ckpt, **init)
    torch.manual_seed(123)
    return MODELS.build(cfg)


def _file(ckpt: str, prefix: str) -> dict:
    sd = torch.load(ckpt)['state_dict']
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}


def _holds(module: torch.nn.Module, state: dict) -> bool:
    own = module.state_dict()
    return all(torch.equal(own[k], v) for k, v in state.items())


class _Records(logging.Handler):
    """Collects what MMEngine's current logger prints."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def text(self, level=logging.DEBUG):
        return '\n'.join(r.getMessage() for r in self.records
                         if r.levelno >= level)


@pytest.fixture
def log():
    logger = MMLogger.get_current_instance()
    handler = _Records()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_crt_refuses_another_depth_takes_another_class_count(ckpts):
    """A stage one of another depth is refused; one with 100 classes is a
    legitimate start, since cRT loads only the backbone (prefix
    'backbone.') and re-trains the classifier."""
    model = _stage_two(CRT, ckpts['r20'])
    with pytest.raises(CheckpointMismatchError) as err:
        model.init_weights()
    msg = str(err.value)
    first = msg.splitlines()[0]
    assert first == (f'Pretrained: checkpoint "{ckpts["r20"]}" (prefix '
                     "'backbone.') does not fit module \"backbone\" "
                     '(CIFARResNet):'), first
    assert 'missing key(s)' in msg and 'layer1.3.conv1.weight' in msg, msg
    assert msg.splitlines()[-1] == PRETRAINED_HINT
    assert err.value.mismatch.missing and not err.value.mismatch.unexpected

    model = _stage_two(CRT, ckpts['c100'])
    model.init_weights()
    assert _holds(model.backbone, _file(ckpts['c100'], 'backbone.'))
    assert model.head.fc.weight.shape == (10, 64)


def test_crt_good_checkpoint_loads(ckpts, log):
    model = _stage_two(CRT, ckpts['good'])
    model.init_weights()
    assert _holds(model.backbone, _file(ckpts['good'], 'backbone.'))
    text = log.text()
    assert 'load backbone. in module "backbone" (CIFARResNet) from: ' \
        f'{ckpts["good"]}' in text, text
    assert 'does not' not in text


def test_lws_refuses_a_head_of_another_class_count(ckpts):
    model = _stage_two(LWS, ckpts['c100'])
    with pytest.raises(CheckpointMismatchError) as err:
        model.init_weights()
    msg = str(err.value)
    assert f'checkpoint "{ckpts["c100"]}" (prefix \'head.\') does not fit ' \
        'module "head" (LWSHead)' in msg, msg
    assert 'mis-shaped key(s): fc.weight (100, 64) in the file, (10, 64) ' \
        'in the model' in msg, msg


def test_lws_good_checkpoint_keeps_new_scales_and_logs_them(ckpts, log):
    """LWS's per-class scales are not in a stage-one file: the config
    allows them (allow_missing=['scales']), they stay 1, and it is said."""
    model = _stage_two(LWS, ckpts['good'])
    model.init_weights()
    assert _holds(model.backbone, _file(ckpts['good'], 'backbone.'))
    assert _holds(model.head, _file(ckpts['good'], 'head.'))
    assert torch.equal(model.head.scales.detach(), torch.ones(10))
    text = log.text(logging.INFO)
    assert 'as allowed by allow_missing / allow_unexpected' in text, text
    assert '1 missing key(s) (in the model, not in the file): scales' in text


def test_strict_false_loads_what_fits_and_logs(ckpts, log):
    model = _stage_two(CRT, ckpts['r20'], strict=False)
    model.init_weights()
    assert _holds(
        model.backbone, {
            k: v
            for k, v in _file(ckpts['r20'], 'backbone.').items()
            if not k.startswith('layer') or int(k.split('.')[1]) < 3
        })
    text = log.text(logging.WARNING)
    assert f'checkpoint "{ckpts["r20"]}" (prefix \'backbone.\') does not ' \
        'fully fit module "backbone" (CIFARResNet)' in text, text
    assert 'layer1.3.conv1.weight' in text


def _torchvision_like(tmp_path, depth=18):
    """A torchvision ResNet file: MMPretrain ResNet's keys plus the
    ImageNet classifier ``fc.weight`` / ``fc.bias`` (the key mapping of
    torchvision's resnet152 and MMPretrain's ResNet-152 is exactly that)."""
    backbone = MODELS.build(dict(type='ResNet', depth=depth))
    sd = {
        k: torch.randn_like(v) if v.is_floating_point() else v
        for k, v in backbone.state_dict().items()
    }
    sd['fc.weight'] = torch.randn(1000, 512)
    sd['fc.bias'] = torch.randn(1000)
    path = str(tmp_path / 'resnet18-tv.pth')
    torch.save(sd, path)
    return path, sd


def test_torchvision_classifier_needs_allow_unexpected(tmp_path, log):
    path, sd = _torchvision_like(tmp_path)
    cfg = dict(type='ImageClassifier',
               backbone=dict(type='ResNet',
                             depth=18,
                             init_cfg=dict(type='Pretrained',
                                           checkpoint=path)),
               neck=dict(type='GlobalAveragePooling'),
               head=dict(type='LinearClsHead', num_classes=3, in_channels=512))
    with pytest.raises(CheckpointMismatchError) as err:
        MODELS.build(copy.deepcopy(cfg)).init_weights()
    msg = str(err.value)
    assert f'checkpoint "{path}" does not fit module "backbone" ' \
        '(ResNet)' in msg, msg
    assert '2 unexpected key(s) (in the file, not in the model): ' \
        'fc.weight, fc.bias' in msg, msg

    cfg['backbone']['init_cfg']['allow_unexpected'] = ['fc.']
    model = MODELS.build(cfg)
    model.init_weights()
    assert _holds(model.backbone, {
        k: v
        for k, v in sd.items() if not k.startswith('fc.')
    })
    assert 'fc.weight, fc.bias' in log.text(logging.INFO)


def test_ncl_expert_is_named(ckpts):
    """Every NCL expert loads the file; the error names the expert."""
    cfg = dict(type='NCLMultiExpertClassifier',
               num_experts=2,
               backbone=dict(type='CIFARResNet',
                             depth=32,
                             init_cfg=dict(type='Pretrained',
                                           checkpoint=ckpts['r20'],
                                           prefix='backbone.')),
               neck=dict(type='GlobalAveragePooling'),
               head=dict(type='LinearClsHead', num_classes=5, in_channels=64),
               loss=dict(type='NCLLoss',
                         hcm_n=2,
                         class_counts=[50, 20, 9, 5, 2]))
    with pytest.raises(CheckpointMismatchError,
                       match=r'module "backbones\.0" \(CIFARResNet\)'):
        MODELS.build(cfg).init_weights()


def test_prefix_not_in_the_file(ckpts):
    model = _stage_two(CRT, ckpts['good'], prefix='backbone_ema.')
    with pytest.raises(CheckpointMismatchError) as err:
        model.init_weights()
    assert str(err.value) == (
        f'Pretrained: checkpoint "{ckpts["good"]}" has no key under prefix '
        "'backbone_ema.' for module \"backbone\" (CIFARResNet); its keys "
        'start with: backbone., head.')


@pytest.mark.parametrize('init,match', [
    (dict(strict='False'), r"strict must be True or False, but got 'False'"),
    (dict(allow_missing=5), r'allow_missing must be a list .* but got 5'),
    (dict(allow_unexpected=[None]),
     r'allow_unexpected must be a list .* but got \[None\]'),
])
def test_options_are_checked(ckpts, init, match):
    with pytest.raises(TypeError, match=match):
        _stage_two(CRT, ckpts['good'], **init).init_weights()


def test_patch_is_idempotent():
    call, init_weights = PretrainedInit.__call__, BaseModule.init_weights
    assert getattr(call, '_ltplug_strict', False)
    patch_pretrained_init_strict()
    setup_compat()
    assert PretrainedInit.__call__ is call
    assert BaseModule.init_weights is init_weights
