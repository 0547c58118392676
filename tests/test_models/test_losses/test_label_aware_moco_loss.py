# Copyright (c) ltplug contributors. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS

DEFAULT_ARGS = dict(type='LabelAwareMoCoLoss', temperature=0.2)


def build(**overrides):
    cfg = dict(DEFAULT_ARGS)
    cfg.update(overrides)
    return MODELS.build(cfg)


def slow_reference(q, k, y, queue, queue_y, tau):
    """The formula of the spec, one query and one queue entry at a time."""
    total = 0.0
    for b in range(q.size(0)):
        pos = math.exp(float(q[b] @ k[b]) / tau)
        neg = 0.0
        for j in range(queue.size(0)):
            if int(queue_y[j]) != int(y[b]):
                neg += math.exp(float(q[b] @ queue[j]) / tau)
        total += -math.log(pos / (pos + neg))
    return total / q.size(0)


def _data(b=6, k=20, d=8, c=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = F.normalize(torch.randn(b, d, generator=g), dim=1)
    key = F.normalize(torch.randn(b, d, generator=g), dim=1)
    queue = F.normalize(torch.randn(k, d, generator=g), dim=1)
    y = torch.randint(0, c, (b, ), generator=g)
    queue_y = torch.randint(0, c, (k, ), generator=g)
    return q, key, y, queue, queue_y


@pytest.mark.parametrize('tau', [0.2, 0.07, 1.0])
def test_matches_slow_reference(tau):
    q, k, y, queue, queue_y = _data()
    got = build(temperature=tau)(q, k, y, queue, queue_y)
    assert float(got) == pytest.approx(
        slow_reference(q, k, y, queue, queue_y, tau), rel=1e-5)


def test_same_label_entries_do_not_matter():
    q, k, y, queue, queue_y = _data()
    loss = build()
    # changing queue entries that share every query's label changes nothing
    y = torch.zeros_like(y)
    base = loss(q, k, y, queue, queue_y)
    queue2 = queue.clone()
    queue2[queue_y == 0] = F.normalize(
        torch.randn(int((queue_y == 0).sum()), q.size(1)), dim=1)
    assert float(loss(q, k, y, queue2, queue_y)) == pytest.approx(
        float(base), rel=1e-6)
    # all entries of the query's class: only the positive is left -> 0
    all_same = torch.zeros_like(queue_y)
    assert float(loss(q, k, y, queue, all_same)) == pytest.approx(
        0., abs=1e-6)


def test_differs_from_plain_moco():
    q, k, y, queue, queue_y = _data()
    plain = F.cross_entropy(
        torch.cat([(q * k).sum(1, keepdim=True), q @ queue.t()], 1) / 0.2,
        torch.zeros(q.size(0), dtype=torch.long))
    got = build()(q, k, y, queue, queue_y)
    assert float(got) < float(plain)  # fewer negatives, smaller loss


def test_gradient_flows_to_query_only():
    q, k, y, queue, queue_y = _data()
    q.requires_grad_(True)
    k.requires_grad_(True)
    build(loss_weight=2.)(q, k, y, queue, queue_y).backward()
    assert q.grad is not None and k.grad is None


def test_bad_arguments():
    with pytest.raises(ValueError, match='-0.1'):
        build(temperature=-0.1)
    q, k, y, queue, queue_y = _data()
    with pytest.raises(ValueError, match='queue'):
        build()(q, k, y, queue[:, :3], queue_y)
    with pytest.raises(ValueError, match='labels'):
        build()(q, k, y[:2], queue, queue_y)
