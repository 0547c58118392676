# Copyright (c) ltplug contributors. All rights reserved.
"""NCLLoss against an independent numpy computation with explicit loops."""
import math

import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS

DEFAULT_ARGS = dict(type='NCLLoss', hcm_n=3)


# ----------------------------------------------------------------------
# reference, written from the formulas with plain loops
def _softmax(row):
    m = max(row)
    e = [math.exp(v - m) for v in row]
    s = sum(e)
    return [v / s for v in e]


def _ce(row, y):
    m = max(v for v in row if v != -math.inf)
    lse = m + math.log(
        sum(math.exp(v - m) for v in row if v != -math.inf))
    return lse - row[y]


def _kl(p_target, p_input, eps=1e-9):
    # KL(p_target || p_input), log of the input taken as log(p + eps)
    total = 0.
    for t, q in zip(p_target, p_input):
        if t > 0:
            total += t * (math.log(t) - math.log(q + eps))
    return total


def reference(logits, target, counts, hcm_n, mode, ce_ratio=1.,
              hcm_ratio=1., factor=0.6, factor_hcm=0.6):
    E = len(logits)
    B, C = len(logits[0]), len(logits[0][0])
    log_n = [math.log(c) for c in counts]
    # hard categories from expert 0's raw logits, GT first
    masks = []
    for b in range(B):
        y = target[b]
        others = sorted((c for c in range(C) if c != y),
                        key=lambda c: -logits[0][b][c])
        masks.append({y, *others[:hcm_n - 1]})
    bal = [[[logits[e][b][c] + log_n[c] for c in range(C)]
            for b in range(B)] for e in range(E)]
    hard = []
    for e in range(E):
        rows = []
        for b in range(B):
            row = []
            for c in range(C):
                if c in masks[b]:
                    row.append(bal[e][b][c])
                else:
                    row.append(0. if mode == 'zero' else -math.inf)
            rows.append(row)
        hard.append(rows)
    ce = sum(_ce(bal[e][b], target[b]) for e in range(E) for b in range(B)) / B
    hcm = sum(_ce(hard[e][b], target[b]) for e in range(E)
              for b in range(B)) / B

    def nbod(z):
        total = 0.
        for i in range(E):
            for j in range(E):
                if i == j:
                    continue
                for b in range(B):
                    total += _kl(_softmax(z[j][b]), _softmax(z[i][b])) / B
        return total / (E - 1)

    n_full, n_hcm = nbod(bal), nbod(hard)
    return dict(
        loss_nil=ce_ratio * ce + hcm_ratio * hcm,
        loss_nbod=factor * n_full + factor_hcm * n_hcm,
        nil_ce=ce, nil_hcm=hcm, nbod_full=n_full, nbod_hcm=n_hcm)


# ----------------------------------------------------------------------
@pytest.mark.parametrize('mode', ['zero', 'neg_inf'])
def test_matches_hand_computed(mode):
    rng = np.random.default_rng(0)
    E, B, C = 3, 5, 6
    logits = rng.normal(0, 2, size=(E, B, C))
    target = [0, 5, 2, 3, 5]
    counts = [50, 30, 20, 8, 4, 2]
    loss = MODELS.build(
        dict(type='NCLLoss', hcm_n=3, class_counts=counts, hcm_mask=mode,
             ce_ratio=0.7, hcm_ratio=1.3, diversity_factor=0.6,
             diversity_factor_hcm=0.4))
    out = loss([torch.tensor(z, dtype=torch.float64) for z in logits],
               torch.tensor(target))
    ref = reference(logits.tolist(), target, counts, 3, mode, 0.7, 1.3,
                    0.6, 0.4)
    for key, value in ref.items():
        assert float(out[key]) == pytest.approx(value, rel=1e-6, abs=1e-9), \
            key
    assert set(k for k in out if 'loss' in k) == {'loss_nil', 'loss_nbod'}


def test_modes_differ():
    rng = np.random.default_rng(1)
    logits = [torch.tensor(rng.normal(size=(4, 8))) for _ in range(2)]
    target = torch.tensor([0, 1, 2, 7])
    outs = [
        MODELS.build(dict(type='NCLLoss', hcm_n=3, class_counts=[5] * 8,
                          hcm_mask=m))(logits, target)
        for m in ('zero', 'neg_inf')
    ]
    # same full-logit CE, different hard-category CE
    assert float(outs[0]['nil_ce']) == pytest.approx(float(outs[1]['nil_ce']))
    assert float(outs[0]['nil_hcm']) != pytest.approx(
        float(outs[1]['nil_hcm']))


@pytest.mark.parametrize('mode', ['zero', 'neg_inf'])
def test_nbod_zero_for_identical_experts(mode):
    z = torch.randn(7, 10)
    loss = MODELS.build(dict(type='NCLLoss', hcm_n=4,
                             class_counts=list(range(1, 11)), hcm_mask=mode))
    out = loss([z.clone(), z.clone(), z.clone()], torch.arange(7))
    # only the 1e-9 inside the log separates it from exactly 0
    assert float(out['loss_nbod']) == pytest.approx(0., abs=1e-6)
    assert float(out['nil_ce']) > 0


def test_mask_keeps_ground_truth_with_lowest_logit():
    loss = MODELS.build(dict(type='NCLLoss', hcm_n=2, class_counts=[1] * 5))
    logits = torch.tensor([[5., 4., 3., 2., -100.], [-100., 1., 2., 3., 4.]])
    target = torch.tensor([4, 0])
    mask = loss.hard_category_mask(logits, target)
    assert mask.sum(1).tolist() == [2, 2]
    assert mask[0].tolist() == [True, False, False, False, True]
    assert mask[1].tolist() == [True, False, False, False, True]
    # randomized: ground truth always in, exactly hcm_n kept
    loss = MODELS.build(dict(type='NCLLoss', hcm_n=4, class_counts=[1] * 20))
    z = torch.randn(64, 20)
    y = z.argmin(dim=1)
    mask = loss.hard_category_mask(z, y)
    assert mask[torch.arange(64), y].all()
    assert (mask.sum(1) == 4).all()


@pytest.mark.parametrize('mode', ['zero', 'neg_inf'])
def test_gradients_reach_every_expert(mode):
    loss = MODELS.build(dict(type='NCLLoss', hcm_n=3,
                             class_counts=[9, 5, 3, 2, 1], hcm_mask=mode))
    zs = [torch.randn(6, 5, requires_grad=True) for _ in range(3)]
    out = loss(zs, torch.tensor([0, 1, 2, 3, 4, 0]))
    (out['loss_nil'] + out['loss_nbod']).backward()
    for z in zs:
        assert z.grad is not None and torch.isfinite(z.grad).all()
        assert z.grad.abs().sum() > 0
    # NBOD alone (no detach) reaches every expert too, also expert 1 and 2
    zs = [torch.randn(6, 5, requires_grad=True) for _ in range(3)]
    out = loss(zs, torch.tensor([0, 1, 2, 3, 4, 0]))
    out['loss_nbod'].backward()
    assert all(z.grad.abs().sum() > 0 for z in zs)


def test_set_class_counts_later_and_errors():
    loss = MODELS.build(DEFAULT_ARGS)
    with pytest.raises(RuntimeError, match='class counts'):
        loss([torch.randn(2, 4)] * 2, torch.tensor([0, 1]))
    loss.set_class_counts([4, 3, 2, 1])
    assert loss.num_classes == 4
    loss([torch.randn(2, 4)] * 2, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='at least 2 experts, but got 1'):
        loss([torch.randn(2, 4)], torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='hcm_n=3 exceeds .* \\(2\\)'):
        loss.set_class_counts([4, 3])
    with pytest.raises(ValueError, match='zero training images: \\[1\\]'):
        loss.set_class_counts([4, 0, 3])
    with pytest.raises(ValueError, match='4 classes but there are 5'):
        MODELS.build(dict(type='NCLLoss', hcm_n=3,
                          class_counts=[1] * 5))([torch.randn(2, 4)] * 2,
                                                 torch.tensor([0, 1]))


@pytest.mark.parametrize('kwargs, match', [
    (dict(hcm_n=1), 'hcm_n .* >= 2, but got 1'),
    (dict(hcm_n=0), 'but got 0'),
    (dict(hcm_n=31, class_counts=[1] * 30), 'hcm_n=31 exceeds'),
    (dict(hcm_n=3, class_counts=[2, 0, 1]), 'zero training images'),
    (dict(hcm_n=3, hcm_mask='softmax'), "hcm_mask .* 'softmax'"),
    (dict(hcm_n=3, diversity_factor=-1), 'diversity_factor must be >= 0'),
])
def test_build_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='NCLLoss', **kwargs))
