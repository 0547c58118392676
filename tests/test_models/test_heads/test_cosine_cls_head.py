# Copyright (c) ltplug contributors. All rights reserved.
import math

import pytest
import torch
from mmpretrain.registry import MODELS

DEFAULT_ARGS = dict(type='CosineClsHead', num_classes=2, in_channels=2)


def build(**kwargs):
    head = MODELS.build({**DEFAULT_ARGS, **kwargs})
    with torch.no_grad():
        head.fc.weight.copy_(torch.tensor([[2., 0.], [1., 1.]]))
    return head


def test_value_against_hand_computation():
    head = build(scale=10.)
    feat = torch.tensor([[3., 4.]])
    # cos with (1, 0) = 3/5; cos with (1, 1)/sqrt2 = 7 / (5 sqrt2)
    expected = torch.tensor([[10 * 0.6, 10 * 7 / (5 * math.sqrt(2))]])
    assert torch.allclose(head((feat, )), expected)


def test_invariant_to_feature_and_weight_scale():
    head = build(scale=16.)
    feat = torch.randn(3, 2)
    out = head((feat, ))
    with torch.no_grad():
        head.fc.weight.mul_(7.)
    assert torch.allclose(head((feat * 5., )), out, atol=1e-5)
    assert out.abs().max() <= 16. + 1e-4


def test_bias_added_and_learnable():
    head = build(scale=1., bias=True)
    assert isinstance(head.bias, torch.nn.Parameter)
    assert torch.equal(head.bias, torch.zeros(2))
    with torch.no_grad():
        head.bias.copy_(torch.tensor([1., -2.]))
    feat = torch.tensor([[1., 0.]])
    expected = torch.tensor([[1. + 1., 1 / math.sqrt(2) - 2.]])
    assert torch.allclose(head((feat, )), expected)


def test_fixed_scale_is_buffer_learnable_scale_gets_grad():
    fixed = build(scale=20.)
    assert 'scale' not in dict(fixed.named_parameters())
    assert fixed.scale.item() == 20.
    learn = build(scale=20., learnable_scale=True)
    out = learn((torch.randn(4, 2), ))
    out.sum().backward()
    assert learn.scale.grad is not None and learn.scale.grad.abs() > 0


def test_no_bias_by_default():
    head = build()
    assert head.bias is None
    assert 'fc.bias' not in head.state_dict()


@pytest.mark.parametrize('kwargs',
                         [dict(scale=0.), dict(num_classes=0),
                          dict(in_channels=-1)])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        MODELS.build({**DEFAULT_ARGS, **kwargs})
