# Copyright (c) ltplug contributors. All rights reserved.
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

DEFAULT_ARGS = dict(type='LWSHead', num_classes=4, in_channels=3)


def test_unit_scales_reproduce_linear_head():
    linear = MODELS.build(
        dict(type='LinearClsHead', num_classes=4, in_channels=3))
    linear.init_weights()
    head = MODELS.build(DEFAULT_ARGS)
    # the fc keys match LinearClsHead's; the scales are new
    missing, unexpected = head.load_state_dict(
        linear.state_dict(), strict=False)
    assert missing == ['scales'] and unexpected == []
    feat = torch.randn(5, 3)
    assert torch.allclose(head((feat, )), linear((feat, )))


def test_scales_multiply_logits_per_class():
    head = MODELS.build(DEFAULT_ARGS)
    feat = torch.randn(2, 3)
    base = head((feat, )).detach()
    with torch.no_grad():
        head.scales.copy_(torch.tensor([1., 2., 0., -1.]))
    out = head((feat, ))
    assert torch.allclose(out, base * torch.tensor([1., 2., 0., -1.]))


def test_only_scales_get_gradients():
    head = MODELS.build(DEFAULT_ARGS)
    trainable = [n for n, p in head.named_parameters() if p.requires_grad]
    assert trainable == ['scales']
    feat = torch.randn(6, 3)
    samples = [DataSample().set_gt_label(i % 4) for i in range(6)]
    losses = head.loss((feat, ), samples)
    losses['loss'].backward()
    assert head.scales.grad is not None
    assert head.scales.grad.abs().sum() > 0
    assert head.fc.weight.grad is None and head.fc.bias.grad is None


def test_unfrozen_fc_gets_gradients():
    head = MODELS.build({**DEFAULT_ARGS, 'freeze_fc': False})
    out = head((torch.randn(2, 3), ))
    out.sum().backward()
    assert head.fc.weight.grad is not None
