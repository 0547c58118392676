# Copyright (c) ltplug contributors. All rights reserved.
import copy

import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

NUM_CLASSES = 5
BACKBONE = dict(type='CIFARResNet', depth=20)
STAGE1 = dict(
    type='SSDMoCoClassifier',
    backbone=BACKBONE,
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=NUM_CLASSES, in_channels=64),
    queue_size=8,
    proj_dim=8)
DEFAULT_ARGS = dict(
    type='SSDLWSClassifier',
    backbone=BACKBONE,
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LWSHead', num_classes=NUM_CLASSES, in_channels=64))


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Two threads on this shared 2-core machine are ~5x slower than one."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def stage1_checkpoint(tmp_path, num_classes=NUM_CLASSES):
    torch.manual_seed(1)
    cfg = copy.deepcopy(STAGE1)
    cfg['head']['num_classes'] = num_classes
    model = MODELS.build(cfg)
    model.init_weights()
    with torch.no_grad():  # non-trivial BN statistics and bias
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        model.head.fc.bias.normal_()
    path = str(tmp_path / f'stage1_c{num_classes}.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return model, path


def build(**overrides):
    cfg = copy.deepcopy(DEFAULT_ARGS)
    cfg.update(overrides)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def samples(labels):
    return [DataSample().set_gt_label(int(y)) for y in labels]


def test_loads_stage1_and_reproduces_its_logits(tmp_path):
    stage1, path = stage1_checkpoint(tmp_path)
    model = build(init_checkpoint=path)
    state = model.state_dict()
    for k, v in stage1.state_dict().items():
        if k.startswith(('backbone.', 'head.fc.')):
            assert torch.equal(state[k], v), k
    assert torch.equal(model.head.scales, torch.ones(NUM_CLASSES))
    assert not any(k.startswith(('key_', 'queue', 'query_')) for k in state)
    x = torch.randn(3, 3, 16, 16)
    model.eval()
    stage1.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x), stage1(x))


def test_only_scales_train(tmp_path):
    _, path = stage1_checkpoint(tmp_path)
    model = build(init_checkpoint=path)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ['head.scales']
    before = copy.deepcopy(model.state_dict())
    opt = torch.optim.SGD(model.parameters(), lr=0.5, weight_decay=5e-4)
    model.train()
    for _ in range(2):
        losses = model(torch.randn(4, 3, 16, 16), samples([0, 1, 2, 4]),
                       mode='loss')
        opt.zero_grad()
        model.parse_losses(losses)[0].backward()
        opt.step()
    after = model.state_dict()
    assert not torch.equal(after['head.scales'], before['head.scales'])
    for name, p in model.named_parameters():
        if name != 'head.scales':
            assert torch.equal(after[name], before[name]), name


@pytest.mark.parametrize('mode,moves', [('train', True), ('eval', False)])
def test_frozen_bn_mode(tmp_path, mode, moves):
    _, path = stage1_checkpoint(tmp_path)
    model = build(init_checkpoint=path, frozen_bn_mode=mode).train()
    assert model.backbone.training == (mode == 'train')
    assert model.head.training
    before = model.backbone.bn1.running_mean.clone()
    model(torch.randn(4, 3, 16, 16), samples([0, 1, 2, 3]), mode='loss')
    changed = not torch.equal(model.backbone.bn1.running_mean, before)
    assert changed == moves


def test_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        build(init_checkpoint=str(tmp_path / 'nope.pth'))
    _, path = stage1_checkpoint(tmp_path, num_classes=7)
    with pytest.raises(ValueError, match=r'stage1_c7\.pth.*head\.fc'):
        build(init_checkpoint=path)
    torch.save({'state_dict': {'foo': torch.zeros(1)}},
               str(tmp_path / 'other.pth'))
    with pytest.raises(ValueError, match=r'other\.pth.*missing'):
        build(init_checkpoint=str(tmp_path / 'other.pth'))
    with pytest.raises(ValueError, match="'sometimes'"):
        build(frozen_bn_mode='sometimes')
    with pytest.raises(TypeError, match='LinearClsHead'):
        build(head=dict(type='LinearClsHead', num_classes=5, in_channels=64))


def test_stage4_takes_the_students_hard_head(tmp_path):
    student = MODELS.build(dict(
        type='SSDDistiller',
        backbone=BACKBONE,
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=NUM_CLASSES,
                  in_channels=64),
        teachers=None))
    student.init_weights()
    path = str(tmp_path / 'stage3.pth')
    torch.save({'state_dict': student.state_dict()}, path)
    model = build(init_checkpoint=path)
    assert torch.equal(model.head.fc.weight, student.head.fc.weight)
    assert not torch.equal(model.head.fc.weight,
                           student.soft_head.fc.weight)
    assert torch.equal(model.backbone.conv1.weight,
                       student.backbone.conv1.weight)


def test_deeper_backbone_checkpoint_is_refused(tmp_path):
    """ResNet-32 stage-I weights hold every ResNet-20 key with the same
    shape; the extra blocks under ``backbone.`` must not pass silently."""
    cfg = copy.deepcopy(STAGE1)
    cfg['backbone'] = dict(type='CIFARResNet', depth=32)
    deep = MODELS.build(cfg)
    path = str(tmp_path / 'stage1_r32.pth')
    torch.save({'state_dict': deep.state_dict()}, path)
    with pytest.raises(ValueError) as err:
        build(init_checkpoint=path)
    msg = str(err.value)
    assert 'unexpected key(s)' in msg and 'backbone.layer1.3.' in msg, msg
    assert f'checkpoint "{path}"' in msg
    assert 'model.init_checkpoint' in msg


def test_lists_the_keys_of_each_kind(tmp_path):
    _, path = stage1_checkpoint(tmp_path, num_classes=7)
    with pytest.raises(ValueError) as err:
        build(init_checkpoint=path)
    msg = str(err.value)
    # both head.fc tensors, each with its two shapes
    assert '2 mis-shaped key(s)' in msg
    assert 'head.fc.weight (7, 64) in the file, (5, 64) in the model' in msg
    assert 'head.fc.bias (7,) in the file, (5,) in the model' in msg


@pytest.mark.parametrize('content,phrase', [(b'', 'is empty'),
                                            (b'\x00\xff' * 64,
                                             'not a torch checkpoint')])
def test_unreadable_stage_checkpoint_is_named(tmp_path, content, phrase):
    path = str(tmp_path / 'bad.pth')
    with open(path, 'wb') as f:
        f.write(content)
    from ltplug.utils import CheckpointReadError
    with pytest.raises(CheckpointReadError) as err:
        build(init_checkpoint=path)
    msg = str(err.value)
    assert msg.startswith('SSDLWSClassifier (model.init_checkpoint): '
                          f'checkpoint "{path}"'), msg
    assert phrase in msg
