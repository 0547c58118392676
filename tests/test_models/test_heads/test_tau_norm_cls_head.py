# Copyright (c) ltplug contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS

DEFAULT_ARGS = dict(type='TauNormClsHead', num_classes=3, in_channels=2)


def build(**kwargs):
    head = MODELS.build({**DEFAULT_ARGS, **kwargs})
    with torch.no_grad():
        head.fc.weight.copy_(torch.tensor([[3., 4.], [0., 2.], [1., 0.]]))
        head.fc.bias.copy_(torch.tensor([0.5, -1., 0.]))
    return head


def test_tau_one_hand_computed():
    head = build()
    feat = torch.tensor([[1., 2.]])
    # norms 5, 2, 1 -> unit rows (0.6, 0.8), (0, 1), (1, 0)
    # logits = (0.6 + 1.6 + 0.5, 2 - 1, 1 + 0) = (2.7, 1.0, 1.0)
    out = head((feat, ))
    assert torch.allclose(out, torch.tensor([[2.7, 1.0, 1.0]]))


def test_tau_half_and_no_bias():
    head = build(tau=0.5, use_bias=False)
    feat = torch.tensor([[1., 2.]])
    w = np.array([[3., 4.], [0., 2.], [1., 0.]])
    norms = np.array([5., 2., 1.])
    expected = (w / np.sqrt(norms)[:, None]) @ np.array([1., 2.])
    assert torch.allclose(head((feat, )),
                          torch.tensor(expected, dtype=torch.float32)[None])


def test_tau_zero_equals_linear_head():
    head = build(tau=0.0)
    linear = MODELS.build(
        dict(type='LinearClsHead', num_classes=3, in_channels=2))
    linear.load_state_dict(head.state_dict())
    feat = torch.randn(4, 2)
    assert torch.allclose(head((feat, )), linear((feat, )))


def test_loads_linear_head_state_dict_strictly():
    linear = MODELS.build(
        dict(type='LinearClsHead', num_classes=3, in_channels=2))
    head = MODELS.build(DEFAULT_ARGS)
    # same keys: strict load succeeds and copies the weights
    head.load_state_dict(linear.state_dict(), strict=True)
    assert torch.equal(head.fc.weight, linear.fc.weight)
    assert set(head.state_dict()) == {'fc.weight', 'fc.bias'}


def test_tau_norm_equalises_predictions():
    """A class with a large weight norm stops dominating after tau-norm."""
    head = MODELS.build({**DEFAULT_ARGS, 'num_classes': 2})
    with torch.no_grad():
        head.fc.weight.copy_(torch.tensor([[10., 0.], [0., 1.]]))
        head.fc.bias.zero_()
    feat = torch.tensor([[0.5, 1.0]])
    plain = torch.nn.functional.linear(feat, head.fc.weight)
    assert plain.argmax().item() == 0
    assert head((feat, )).argmax().item() == 1


def test_predict_gives_scores():
    head = build()
    samples = head.predict((torch.tensor([[1., 2.]]), ))
    assert samples[0].pred_label.item() == 0
    assert samples[0].pred_score.sum().item() == pytest.approx(1.0)


@pytest.mark.parametrize('kwargs', [dict(tau=-1.), dict(num_classes=0)])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        MODELS.build({**DEFAULT_ARGS, **kwargs})
