# Copyright (c) ltplug contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS

DEFAULT_ARGS = dict(type='CosineFeatureDistillLoss', loss_weight=100.)


def _np_loss(s, ts, w):
    """Hand computation: normalise each teacher, concat, normalise again."""
    def unit(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)
    t = unit(np.concatenate([unit(t) for t in ts], axis=1))
    cos = (unit(s) * t).sum(axis=1)
    return w * np.mean(1.0 - cos)


def test_hand_computed_values_one_and_three_teachers():
    loss = MODELS.build(DEFAULT_ARGS)
    # a tiny case by hand: s = (1, 0), t = (1, 1) / sqrt 2 -> 1 - cos = 1 -
    # 1/sqrt(2); s = (0, 2), t = (0, 5) -> 0
    s = torch.tensor([[1., 0.], [0., 2.]])
    t = torch.tensor([[3., 3.], [0., 5.]])
    expected = 100. * (1 - 1 / np.sqrt(2)) / 2
    assert loss(s, [t]).item() == pytest.approx(expected, rel=1e-6)
    assert loss(s, t).item() == pytest.approx(expected, rel=1e-6)

    rng = np.random.default_rng(0)
    ts = [rng.normal(size=(5, 4)) * scale for scale in (0.1, 3.0, 50.0)]
    s = rng.normal(size=(5, 12))
    got = loss(torch.tensor(s, dtype=torch.float64),
               [torch.tensor(t) for t in ts]).item()
    assert got == pytest.approx(_np_loss(s, ts, 100.), rel=1e-5)


def test_teacher_scale_does_not_matter_but_normalisation_per_teacher_does():
    loss = MODELS.build(dict(type='CosineFeatureDistillLoss'))
    rng = np.random.default_rng(1)
    s = torch.tensor(rng.normal(size=(3, 8)), dtype=torch.float32)
    t1 = torch.tensor(rng.normal(size=(3, 4)), dtype=torch.float32)
    t2 = torch.tensor(rng.normal(size=(3, 4)), dtype=torch.float32)
    a = loss(s, [t1, t2])
    b = loss(s, [t1 * 1000., t2])
    # each teacher is normalised first, so scaling one changes nothing
    torch.testing.assert_close(a, b)
    # ...unlike a plain cosine to the raw concatenation
    raw = 1 - torch.nn.functional.cosine_similarity(
        s, torch.cat([t1 * 1000., t2], 1)).mean()
    assert not torch.allclose(raw, b)


def test_zero_when_student_matches_teachers():
    loss = MODELS.build(DEFAULT_ARGS)
    t1, t2 = torch.randn(6, 16), torch.randn(6, 16)
    target = torch.cat([torch.nn.functional.normalize(t1, dim=1),
                        torch.nn.functional.normalize(t2, dim=1)], 1)
    # any positive rescaling of the target is a perfect student
    out = loss(target * 7.5, [t1, t2])
    assert abs(out.item()) < 1e-4
    # the opposite direction gives the maximum 2 * loss_weight
    assert loss(-target, [t1, t2]).item() == pytest.approx(200., rel=1e-5)


def test_gradient_reaches_student_only():
    loss = MODELS.build(DEFAULT_ARGS)
    s = torch.randn(4, 8, requires_grad=True)
    t = torch.randn(4, 8, requires_grad=True)
    loss(s, [t]).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None


def test_bad_inputs_raise_with_values():
    loss = MODELS.build(DEFAULT_ARGS)
    with pytest.raises(ValueError, match=r'\(4, 8\).*\(4, 6\)'):
        loss(torch.randn(4, 8), [torch.randn(4, 3), torch.randn(4, 3)])
    with pytest.raises(ValueError, match='empty'):
        loss(torch.randn(4, 8), [])
    with pytest.raises(ValueError, match='-1'):
        MODELS.build(dict(type='CosineFeatureDistillLoss', loss_weight=-1))


def test_hand_computed_two_teachers():
    # t1 = (2, 0) and t2 = (0, 3) normalise to (1, 0) and (0, 1); the target
    # is (1, 0, 0, 1) / sqrt 2. Student (5, 0, 0, 0): cos = 1 / sqrt 2;
    # student (0, 1, 1, 0): cos = 0.
    loss = MODELS.build(dict(type='CosineFeatureDistillLoss', loss_weight=2.))
    s = torch.tensor([[5., 0., 0., 0.], [0., 1., 1., 0.]])
    t1 = torch.tensor([[2., 0.], [2., 0.]])
    t2 = torch.tensor([[0., 3.], [0., 3.]])
    expected = 2. * ((1 - 1 / np.sqrt(2)) + 1.) / 2
    assert loss(s, [t1, t2]).item() == pytest.approx(expected, rel=1e-6)
    # without the per-teacher normalisation the target would be (2,0,0,3)
    raw = (1 - 10 / (5 * np.sqrt(13)) + 1.)
    assert loss(s, [t1, t2]).item() != pytest.approx(raw, rel=1e-3)
