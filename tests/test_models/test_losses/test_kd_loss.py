# Copyright (c) ltplug contributors. All rights reserved.
import math

import pytest
import torch
from mmpretrain.registry import MODELS

DEFAULT_ARGS = dict(type='KDLoss', temperature=2.0, loss_weight=1.0)


def build(**overrides):
    cfg = dict(DEFAULT_ARGS)
    cfg.update(overrides)
    return MODELS.build(cfg)


def _softmax(row, t):
    e = [math.exp(v / t) for v in row]
    z = sum(e)
    return [v / z for v in e]


def test_matches_hand_computation():
    s = [[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]]
    t = [[2.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    temp = 2.0
    total = 0.0
    for s_row, t_row in zip(s, t):
        p_t, p_s = _softmax(t_row, temp), _softmax(s_row, temp)
        total += sum(a * math.log(a / b) for a, b in zip(p_t, p_s))
    expected = temp**2 * total / 2
    got = build()(torch.tensor(s), torch.tensor(t))
    assert float(got) == pytest.approx(expected, rel=1e-6)
    # weight and temperature enter as stated
    got3 = build(loss_weight=3.)(torch.tensor(s), torch.tensor(t))
    assert float(got3) == pytest.approx(3 * expected, rel=1e-6)


def test_zero_when_equal_and_positive_otherwise():
    x = torch.randn(5, 7)
    assert float(build()(x, x.clone())) == pytest.approx(0., abs=1e-6)
    assert float(build()(x, x + 3.)) == pytest.approx(0., abs=1e-6)
    assert float(build()(x, torch.randn(5, 7))) > 0


def test_gradient_to_student_only():
    s = torch.randn(4, 3, requires_grad=True)
    t = torch.randn(4, 3, requires_grad=True)
    build()(s, t).backward()
    assert s.grad is not None and float(s.grad.abs().sum()) > 0
    assert t.grad is None


@pytest.mark.parametrize('bad', [0., -1.])
def test_bad_temperature(bad):
    with pytest.raises(ValueError, match=str(bad)):
        build(temperature=bad)


def test_shape_mismatch():
    with pytest.raises(ValueError, match=r'\(4, 3\)'):
        build()(torch.randn(4, 3), torch.randn(4, 5))
