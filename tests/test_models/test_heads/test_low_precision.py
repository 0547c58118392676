# Copyright (c) ltplug contributors. All rights reserved.
"""The ltplug heads in pure fp16 / bf16 (``head.to(dtype)``, as for
half-precision inference) and under CPU bf16 autocast: finite, and close to
the fp32 head with the same (cast-down) weights on the same (cast-down)
features. Zero feature vectors and zero weight rows are included: the
default ``eps = 1e-12`` is 0 in fp16, where ``F.normalize`` of a zero
vector is NaN."""
import copy

import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

LOW = [torch.float16, torch.bfloat16]
NUM_CLASSES, WIDTH = 6, 16
HEADS = {
    'cosine': dict(type='CosineClsHead', num_classes=NUM_CLASSES,
                   in_channels=WIDTH, scale=16., bias=True),
    'tau_norm': dict(type='TauNormClsHead', num_classes=NUM_CLASSES,
                     in_channels=WIDTH, tau=1.0),
    'tau_norm_half': dict(type='TauNormClsHead', num_classes=NUM_CLASSES,
                          in_channels=WIDTH, tau=0.5),
    'lws': dict(type='LWSHead', num_classes=NUM_CLASSES, in_channels=WIDTH),
}


def build(name, seed=0):
    torch.manual_seed(seed)
    head = MODELS.build(copy.deepcopy(HEADS[name]))
    with torch.no_grad():  # O(1) weights; bias / scales non-trivial
        head.fc.weight.normal_()
        head.fc.weight[2] = 0  # a dead class: zero weight row
        if getattr(head.fc, 'bias', None) is not None:
            head.fc.bias.uniform_(-1, 1)
        if getattr(head, 'bias', None) is not None:
            head.bias.uniform_(-1, 1)
        if hasattr(head, 'scales'):
            head.scales.uniform_(0.5, 2.)
    return head


def features(b=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    f = 3 * torch.randn(b, WIDTH, generator=g)
    f[1] = 0  # e.g. all-zero after ReLU + pooling
    return f


def tolerance(dtype, scale):
    """A few units in the last place of logits of magnitude ``scale``."""
    return 4 * torch.finfo(dtype).eps * scale


@pytest.mark.parametrize('dtype', LOW)
@pytest.mark.parametrize('name', list(HEADS))
def test_pure_low_precision_forward(name, dtype):
    head = build(name)
    low = copy.deepcopy(head).to(dtype)
    ref = copy.deepcopy(low).float()  # same cast-down weights, in fp32
    f = features().to(dtype)
    out = low((f, ))
    expected = ref((f.float(), ))
    assert out.dtype == dtype
    assert torch.isfinite(out).all(), out
    scale = float(expected.detach().abs().max())
    tol = tolerance(dtype, scale)
    torch.testing.assert_close(out.float(), expected, rtol=0, atol=tol)
    if name == 'cosine':  # a zero feature gives the bias only
        torch.testing.assert_close(out[1].float(), low.bias.float())


@pytest.mark.parametrize('dtype', LOW)
@pytest.mark.parametrize('name', ['cosine', 'tau_norm'])
def test_pure_low_precision_backward_has_no_nan(name, dtype):
    """Gradients never NaN. At an exact zero vector (feature row 1, weight
    row 2) the gradient is upstream / max(eps, finfo.tiny), as for
    F.normalize (1e12 x upstream in fp32): finite in bf16, and in fp16 it
    overflows to inf for these upstream gradients; every other row is
    finite."""
    low = build(name).to(dtype)
    f = features().to(dtype).requires_grad_()
    low((f, )).float().sum().backward()
    w_grad = low.fc.weight.grad
    assert not torch.isnan(f.grad).any() and not torch.isnan(w_grad).any()
    keep_f = torch.arange(f.size(0)) != 1
    keep_w = torch.arange(NUM_CLASSES) != 2
    assert torch.isfinite(w_grad[keep_w]).all()
    if name == 'cosine':
        assert torch.isfinite(f.grad[keep_f]).all()
    else:  # no normalisation of the features
        assert torch.isfinite(f.grad).all()
    if dtype == torch.bfloat16:
        assert torch.isfinite(f.grad).all()
        assert torch.isfinite(w_grad).all()


@pytest.mark.parametrize('name', list(HEADS))
def test_cpu_bf16_autocast_forward(name):
    head = build(name)
    f = features()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = head((f, ))
    with torch.no_grad():
        expected = head((f, ))
    # bf16 from autocast's linear, fp32 where a fp32 bias / scale follows
    assert out.dtype in (torch.bfloat16, torch.float32)
    assert torch.isfinite(out).all()
    # inputs are rounded to bf16 inside autocast: a looser bound
    scale = float(expected.abs().max())
    torch.testing.assert_close(out.float(), expected, rtol=0,
                               atol=4 * tolerance(torch.bfloat16, scale))


@pytest.mark.parametrize('dtype', LOW)
def test_head_loss_with_balanced_softmax_and_a_large_class(dtype):
    """A head in fp16/bf16 with BalancedSoftmaxLoss and a 100,000-image
    class: the loss is finite, fp32 and equal to the fp32 head's."""
    counts = [100000, 5000, 300, 40, 6, 1]
    cfg = dict(HEADS['cosine'],
               loss=dict(type='BalancedSoftmaxLoss', class_counts=counts))
    torch.manual_seed(0)
    head = MODELS.build(cfg)
    low = copy.deepcopy(head).to(dtype)
    ref = copy.deepcopy(low).float()
    samples = [DataSample().set_gt_label(i % NUM_CLASSES) for i in range(8)]
    f = features().to(dtype)
    loss = low.loss((f, ), samples)['loss']
    expected = ref.loss((f.float(), ), samples)['loss']
    assert torch.isfinite(loss), loss
    # the logits themselves are fp16/bf16 (the cosine is in that dtype)
    torch.testing.assert_close(
        loss.float(), expected, rtol=0, atol=tolerance(dtype, 16.))
    assert loss.dtype == torch.float32


def test_eps_must_be_positive():
    for name in ('cosine', 'tau_norm'):
        with pytest.raises(ValueError, match='eps must be > 0, but got 0'):
            MODELS.build(dict(HEADS[name], eps=0.))
