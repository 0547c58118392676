# Copyright (c) ltplug contributors. All rights reserved.
"""The teacher helpers shared by SSD's and CBD's distillers."""
from collections import OrderedDict

import pytest
import torch.nn as nn

from ltplug.models.utils import drop_prefixed_keys, teacher_model_cfg


def test_teacher_model_cfg_merges_the_file_preprocessor(tmp_path):
    cfg = tmp_path / 'teacher.py'
    cfg.write_text("model = dict(type='ImageClassifier', backbone=dict("
                   "type='CIFARResNet', depth=20))\n"
                   "data_preprocessor = dict(mean=[1., 2., 3.])\n")
    model = teacher_model_cfg(str(cfg), 't0')
    assert model['data_preprocessor']['mean'] == [1., 2., 3.]
    # a copy: changing it does not change the next read
    model['backbone']['depth'] = 32
    assert teacher_model_cfg(str(cfg), 't0')['backbone']['depth'] == 20


def test_teacher_model_cfg_copies_dicts_and_names_errors(tmp_path):
    spec = dict(type='ImageClassifier', init_checkpoint='x.pth')
    copy = teacher_model_cfg(spec, 't1')
    copy['init_checkpoint'] = None
    assert spec['init_checkpoint'] == 'x.pth'
    with pytest.raises(FileNotFoundError, match=r't1: config file .*nope'):
        teacher_model_cfg(str(tmp_path / 'nope.py'), 't1')
    empty = tmp_path / 'empty.py'
    empty.write_text('x = 1\n')
    with pytest.raises(KeyError, match='t1: config .* has no `model`'):
        teacher_model_cfg(str(empty), 't1')
    with pytest.raises(TypeError, match='t1: config must be a path or a '
                       'dict, but got int'):
        teacher_model_cfg(3, 't1')


def test_drop_prefixed_keys_removes_weights_and_metadata():
    model = nn.Module()
    model.student = nn.Linear(2, 2)
    model.teacher = nn.Sequential(nn.Linear(2, 2))
    state = model.state_dict()
    assert isinstance(state, OrderedDict) and hasattr(state, '_metadata')
    out = drop_prefixed_keys(state, 'teacher.')
    assert out is state
    assert sorted(state) == ['student.bias', 'student.weight']
    assert not any(k.startswith('teacher') for k in state._metadata)
    assert 'student' in state._metadata


@pytest.mark.parametrize('kind', ['ClsDataPreprocessor',
                                  'SelfSupDataPreprocessor',
                                  'BatchAugDataPreprocessor'])
def test_norm_signature_sees_the_channel_conversion(kind):
    """A teacher fed BGR and a student fed RGB (or the reverse) must not
    compare equal: MMPretrain's ClsDataPreprocessor keeps the flag as
    ``to_rgb``, MMEngine's preprocessors as ``_channel_conversion``,
    ltplug's BatchAugDataPreprocessor as ``bgr_inputs``."""
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    import ltplug  # noqa: F401  (registers BatchAugDataPreprocessor)
    from ltplug.models.utils.teacher import norm_signature
    init_default_scope('mmpretrain')
    norm = dict(mean=[1., 2., 3.], std=[4., 5., 6.])
    rgb = MODELS.build(dict(type=kind, to_rgb=True, **norm))
    bgr = MODELS.build(dict(type=kind, to_rgb=False, **norm))
    assert norm_signature(rgb)[3] is True
    assert norm_signature(bgr)[3] is False
    assert norm_signature(rgb) != norm_signature(bgr)


TEACHER = dict(
    type='ImageClassifier',
    backbone=dict(type='CIFARResNet', depth=20),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=4, in_channels=64))


def _teacher_files(tmp_path, depth=20):
    import torch
    from mmpretrain.registry import MODELS
    cfg = tmp_path / f'teacher_r{depth}.py'
    model = dict(TEACHER, backbone=dict(type='CIFARResNet', depth=depth))
    cfg.write_text(f'model = {model!r}\n')
    ckpt = str(tmp_path / f'teacher_r{depth}.pth')
    torch.save({'state_dict': MODELS.build(model).state_dict()}, ckpt)
    return str(cfg), ckpt


@pytest.mark.parametrize('content,kind', [
    (b'', 'is empty'),
    ('half', 'is truncated'),
    (b'\x13\x37' * 100, 'is not a torch checkpoint'),
    ('config', 'is a text file'),
])
def test_unreadable_teacher_checkpoint_names_teacher_and_file(
        tmp_path, content, kind):
    from ltplug.models.utils import build_frozen_model
    from ltplug.utils import CheckpointReadError
    cfg, good = _teacher_files(tmp_path)
    bad = str(tmp_path / 'bad.pth')
    if content == 'half':
        with open(good, 'rb') as f:
            data = f.read()
        content = data[:len(data) // 2]
    elif content == 'config':
        bad = cfg
    if isinstance(content, bytes):
        with open(bad, 'wb') as f:
            f.write(content)
    with pytest.raises(CheckpointReadError) as err:
        build_frozen_model(cfg, bad, name='teacher 0 ("teacher_r20.py")')
    msg = str(err.value)
    assert msg.startswith(f'teacher 0 ("teacher_r20.py"): checkpoint "{bad}"')
    assert kind in msg


def test_teacher_of_another_architecture_lists_keys_and_config(tmp_path):
    from ltplug.models.utils import build_frozen_model
    from ltplug.utils import CheckpointMismatchError
    cfg20, ckpt20 = _teacher_files(tmp_path, 20)
    cfg32, ckpt32 = _teacher_files(tmp_path, 32)
    with pytest.raises(CheckpointMismatchError) as err:
        build_frozen_model(cfg32, ckpt20, name='t1')
    msg = str(err.value)
    assert msg.startswith(f't1: checkpoint "{ckpt20}" does not fit the '
                          f'model of config "{cfg32}"')
    assert 'missing key(s)' in msg and 'backbone.layer1.3.conv1.weight' in msg
    # a deeper checkpoint in a shallower teacher: the extra blocks
    with pytest.raises(CheckpointMismatchError,
                       match=r'unexpected key\(s\).*backbone\.layer1\.3\.'):
        build_frozen_model(cfg20, ckpt32, name='t1')
    # without strict the extra keys are allowed (the missing never are)
    model = build_frozen_model(cfg20, ckpt32, name='t1', strict=False)
    assert not any(p.requires_grad for p in model.parameters())


def test_check_bn_mode_and_missing_teacher_file(tmp_path):
    from ltplug.models.utils.teacher import (BN_MODES, check_bn_mode,
                                             missing_teacher_file)
    assert BN_MODES == ('train', 'eval')
    assert check_bn_mode('frozen_bn_mode', 'eval') == 'eval'
    with pytest.raises(ValueError, match="frozen_bn_mode must be one of "
                       r"\('train', 'eval'\), but got 'warm'"):
        check_bn_mode('frozen_bn_mode', 'warm')
    cfg, ckpt = _teacher_files(tmp_path)
    assert missing_teacher_file('t', cfg, ckpt) is None
    assert missing_teacher_file('t', dict(TEACHER), ckpt) is None
    assert missing_teacher_file('t', cfg, 'no.pth') == \
        't: checkpoint file "no.pth" does not exist'
    assert missing_teacher_file('t', 'no.py', 'no.pth') == \
        't: config file "no.py" does not exist'


def test_untracked_bn_keeps_buffers_and_restores_the_switch():
    import torch
    module = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    module.register_buffer('other', torch.zeros(2))
    from ltplug.models.utils.teacher import untracked_bn
    before = {k: v.clone() for k, v in module.state_dict().items()}
    x = torch.randn(4, 3, 5, 5)
    with untracked_bn(module.train()) as m:
        out = m(x)
        module.other.add_(1)  # a non-BN buffer is restored
    want = (module[0](x) - module[0](x).mean((0, 2, 3), keepdim=True))
    assert out.shape == want.shape
    for key, value in module.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert module[1].track_running_stats
    with pytest.raises(RuntimeError):
        with untracked_bn(module):
            module(torch.randn(4, 5, 5, 5))
    assert module[1].track_running_stats
    # eval mode: nothing switched
    with untracked_bn(module.eval()):
        assert module[1].track_running_stats


def test_read_fitting_state_under_prefixes(tmp_path):
    import torch
    from ltplug.models.utils.teacher import read_fitting_state
    from ltplug.utils import CheckpointMismatchError
    model = nn.Module()
    model.a = nn.Linear(2, 2)
    model.b = nn.Linear(2, 3)
    path = str(tmp_path / 'x.pth')
    state = {'module.a.weight': torch.ones(2, 2), 'a.bias': torch.ones(2),
             'c.weight': torch.ones(1)}
    torch.save({'state_dict': state}, path)
    got = read_fitting_state(model, path, 'owner', 'HINT', prefixes=['a.'])
    assert list(got) == ['a.weight', 'a.bias', 'c.weight']
    with pytest.raises(CheckpointMismatchError,
                       match=r'^owner: checkpoint .*missing key.*b\.weight'
                       r'.*unexpected key.*c\.weight.*HINT'):
        read_fitting_state(model, path, 'owner', 'HINT')
