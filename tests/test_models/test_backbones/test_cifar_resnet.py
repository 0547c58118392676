# Copyright (c) ltplug contributors. All rights reserved.
import pytest
import torch
from mmpretrain.registry import MODELS


@pytest.mark.parametrize('depth,blocks', [(20, 3), (32, 5), (56, 9)])
def test_depths_and_output(depth, blocks):
    model = MODELS.build(dict(type='CIFARResNet', depth=depth))
    assert [len(getattr(model, f'layer{i}')) for i in (1, 2, 3)] == [blocks] * 3
    out = model(torch.randn(2, 3, 32, 32))
    assert len(out) == 1 and out[0].shape == (2, 64, 8, 8)


# ResNet-32 without its fc, counted from the official definition
# (LDAM-DRW's / NCL's resnet_cifar.py, option-A shortcuts, bias-free convs):
#   stem   conv 3*16*9 = 432, bn 2*16 = 32                            =     464
#   stage1 5 blocks * (2 * 16*16*9 + 2 * 2*16)                        =  23,360
#   stage2 16*32*9 + 32*32*9 + 2*2*32 = 13,952;
#          4 * (2 * 32*32*9 + 128) = 74,240; together                 =  88,192
#   stage3 32*64*9 + 64*64*9 + 2*2*64 = 55,552;
#          4 * (2 * 64*64*9 + 256) = 295,936; together                = 351,488
#   total 464 + 23,360 + 88,192 + 351,488                             = 463,504
OFFICIAL_RESNET32_PARAMS = 463_504
# option B adds 16*32 + 2*32 and 32*64 + 2*64 (1x1 conv + BN, twice)
CONV_SHORTCUT_EXTRA = 576 + 2176


def _num_params(model):
    return sum(p.numel() for p in model.parameters())


def test_resnet32_has_the_official_parameter_count():
    model = MODELS.build(dict(type='CIFARResNet', depth=32))
    assert _num_params(model) == OFFICIAL_RESNET32_PARAMS
    assert not any('downsample' in k for k in model.state_dict())


@pytest.mark.parametrize('shortcut', ['B', 'conv'])
def test_conv_shortcut_is_a_switch(shortcut):
    model = MODELS.build(
        dict(type='CIFARResNet', depth=32, shortcut=shortcut))
    assert _num_params(model) == (
        OFFICIAL_RESNET32_PARAMS + CONV_SHORTCUT_EXTRA)
    assert 'layer2.0.downsample.0.weight' in model.state_dict()
    assert 'layer3.0.downsample.1.running_mean' in model.state_dict()


def test_option_a_shortcut_is_the_official_zero_pad():
    model = MODELS.build(dict(type='CIFARResNet', depth=32))
    x = torch.randn(2, 16, 32, 32)
    out = model.layer2[0].downsample(x)
    # the official: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4,
    # planes // 4)) with planes = 32
    ref = torch.nn.functional.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, 8, 8))
    assert torch.equal(out, ref)
    assert model.layer3[0].downsample(torch.randn(1, 32, 16, 16)).shape == (
        1, 64, 8, 8)
    assert model.layer1[0].downsample is None
    assert model.layer2[1].downsample is None


def test_option_a_keeps_the_block_names_and_gradients():
    a = MODELS.build(dict(type='CIFARResNet', depth=20))
    b = MODELS.build(dict(type='CIFARResNet', depth=20, shortcut='B'))
    keys_b = {k for k in b.state_dict() if 'downsample' not in k}
    assert set(a.state_dict()) == keys_b
    a(torch.randn(2, 3, 32, 32))[0].sum().backward()
    assert all(p.grad is not None for p in a.parameters())


def test_bad_shortcut_is_refused():
    with pytest.raises(ValueError, match="invalid shortcut 'C'"):
        MODELS.build(dict(type='CIFARResNet', shortcut='C'))


def test_bad_depth_is_refused():
    with pytest.raises(KeyError, match='invalid depth 33'):
        MODELS.build(dict(type='CIFARResNet', depth=33))


def test_frozen_stages_stop_gradients():
    model = MODELS.build(dict(type='CIFARResNet', frozen_stages=3))
    model.train()
    assert not any(p.requires_grad for p in model.parameters())
    assert not model.layer3[0].bn1.training
